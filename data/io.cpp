// Atomic file output (see io.h).
#include "data/io.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "data/error.h"

namespace rfm {

void write_atomic(const std::string& path, const std::function<void(std::ostream&)>& write) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    RFM_CHECK(out.good(), "cannot write %s: %s", tmp.c_str(), std::strerror(errno));
    write(out);
    out.flush();
    if (!out.good()) {
      std::remove(tmp.c_str());
      RFM_CHECK(false, "writing %s failed (disk full?)", path.c_str());
    }
  }
  int fd = ::open(tmp.c_str(), O_RDONLY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    std::remove(tmp.c_str());
    RFM_CHECK(false, "cannot rename %s to %s: %s", tmp.c_str(), path.c_str(), std::strerror(err));
  }
}

void write_text_atomic(const std::string& path, const std::string& text) {
  write_atomic(path, [&](std::ostream& out) { out << text; });
}

void make_dirs(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  RFM_CHECK(!ec, "cannot create directory %s: %s", path.c_str(), ec.message().c_str());
}

}  // namespace rfm
