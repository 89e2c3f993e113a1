// Read-only memory mapping of whole files (POSIX mmap, MAP_PRIVATE + PROT_READ) for weights.
// Deliberately does not: know about N-API (addon.cc wraps the mapping as an external ArrayBuffer),
// map writable, or support Windows.
#pragma once
#include <cstddef>
#include <string>

namespace moss {

/** Maps the whole regular file at `path`. On success returns true and sets addr/len (len may be 0,
 *  then addr is null); on failure returns false and sets err to a message naming the path. */
bool map_file(const char* path, void** addr, size_t* len, std::string* err);
void unmap_file(void* addr, size_t len);

}  // namespace moss
