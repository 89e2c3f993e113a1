// POSIX implementation of mmap.h.
#include "mmap.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace moss {

bool map_file(const char* path, void** addr, size_t* len, std::string* err) {
  *addr = nullptr;
  *len = 0;
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *err = std::string("cannot open ") + path + ": " + std::strerror(errno);
    return false;
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    *err = std::string("cannot stat ") + path + ": " + std::strerror(errno);
    ::close(fd);
    return false;
  }
  if (!S_ISREG(st.st_mode)) {
    *err = std::string("not a regular file: ") + path;
    ::close(fd);
    return false;
  }
  if (st.st_size == 0) {
    ::close(fd);
    return true;
  }
  void* p = ::mmap(nullptr, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);  // copy-on-write: writes never reach the file
  int e = errno;
  ::close(fd);  // the mapping keeps its own reference to the file
  if (p == MAP_FAILED) {
    *err = std::string("cannot mmap ") + path + ": " + std::strerror(e);
    return false;
  }
  *addr = p;
  *len = (size_t)st.st_size;
  return true;
}

bool map_file_range(const char* path, size_t offset, size_t length, void** addr, size_t* len, size_t* delta, std::string* err) {
  *addr = nullptr;
  *len = 0;
  *delta = 0;
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *err = std::string("cannot open ") + path + ": " + std::strerror(errno);
    return false;
  }
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    *err = std::string("not a regular file: ") + path;
    ::close(fd);
    return false;
  }
  const size_t size = (size_t)st.st_size;
  if (offset > size) {
    *err = std::string(path) + ": range starts at " + std::to_string(offset) + ", past the end (" + std::to_string(size) + " bytes)";
    ::close(fd);
    return false;
  }
  if (length > size - offset) length = size - offset;
  const size_t page = (size_t)::sysconf(_SC_PAGESIZE);
  const size_t start = offset / page * page;
  *delta = offset - start;
  if (length == 0) {
    ::close(fd);
    return true;
  }
  void* p = ::mmap(nullptr, length + *delta, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, (off_t)start);
  int e = errno;
  ::close(fd);
  if (p == MAP_FAILED) {
    *err = std::string("cannot mmap ") + path + ": " + std::strerror(e);
    return false;
  }
  *addr = p;
  *len = length + *delta;
  return true;
}

void unmap_file(void* addr, size_t len) {
  if (addr && len) ::munmap(addr, len);
}

}  // namespace moss
