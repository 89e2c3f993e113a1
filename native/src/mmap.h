// Copy-on-write memory mapping of files or byte ranges (POSIX mmap, MAP_PRIVATE) for weights.
// Deliberately does not: know about N-API (addon.cc wraps the mapping as an external ArrayBuffer),
// map writable, or support Windows.
#pragma once
#include <cstddef>
#include <string>

namespace moss {

/** Maps the whole regular file at `path`. On success returns true and sets addr/len (len may be 0,
 *  then addr is null); on failure returns false and sets err to a message naming the path. */
bool map_file(const char* path, void** addr, size_t* len, std::string* err);

/** Maps bytes [offset, offset + length) of the file at `path` (clamped to the file). The mapping
 *  starts at the page boundary at or below `offset`: *addr/*len describe the whole mapping and
 *  *delta = offset - mapping start. Errors name the path. */
bool map_file_range(const char* path, size_t offset, size_t length, void** addr, size_t* len, size_t* delta, std::string* err);
void unmap_file(void* addr, size_t len);

}  // namespace moss
