#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "wal/file_system.h"

namespace basalt::wal {
namespace {

Status os_error(const char* op, const std::filesystem::path& path, int err) {
  std::string m = std::string(op) + " " + path.string() + ": " + std::strerror(err);
  return err == ENOENT ? not_found(std::move(m)) : unavailable(std::move(m));
}

class PosixFile final : public WalFile {
 public:
  PosixFile(int fd, std::filesystem::path path) : fd_(fd), path_(std::move(path)) {}
  ~PosixFile() override { ::close(fd_); }
  PosixFile(const PosixFile&) = delete;
  PosixFile& operator=(const PosixFile&) = delete;

  Status write_at(uint64_t offset, std::string_view data) override {
    while (!data.empty()) {
      ssize_t n = ::pwrite(fd_, data.data(), data.size(), static_cast<off_t>(offset));
      if (n < 0) {
        if (errno == EINTR) continue;
        return os_error("write", path_, errno);
      }
      data.remove_prefix(static_cast<size_t>(n));
      offset += static_cast<uint64_t>(n);
    }
    return Status::ok();
  }
  Status sync() override {
    if (::fdatasync(fd_) != 0) return os_error("fdatasync", path_, errno);
    return Status::ok();
  }
  Status truncate(uint64_t size) override {
    if (::ftruncate(fd_, static_cast<off_t>(size)) != 0) return os_error("ftruncate", path_, errno);
    return Status::ok();
  }
  Result<size_t> read_at(uint64_t offset, std::span<char> out) const override {
    size_t done = 0;
    while (done < out.size()) {
      ssize_t n = ::pread(fd_, out.data() + done, out.size() - done,
                          static_cast<off_t>(offset + done));
      if (n < 0) {
        if (errno == EINTR) continue;
        return os_error("read", path_, errno);
      }
      if (n == 0) break;
      done += static_cast<size_t>(n);
    }
    return done;
  }
  Result<uint64_t> size() const override {
    struct stat st;
    if (::fstat(fd_, &st) != 0) return os_error("fstat", path_, errno);
    return static_cast<uint64_t>(st.st_size);
  }

 private:
  int fd_;
  std::filesystem::path path_;
};

class PosixFileSystem final : public WalFileSystem {
 public:
  Result<std::unique_ptr<WalFile>> open(const std::filesystem::path& path,
                                        OpenMode mode) override {
    int flags = O_CLOEXEC;
    switch (mode) {
      case OpenMode::kRead: flags |= O_RDONLY; break;
      case OpenMode::kWrite: flags |= O_RDWR; break;
      case OpenMode::kCreateWrite: flags |= O_RDWR | O_CREAT | O_TRUNC; break;
    }
    int fd = ::open(path.c_str(), flags, 0644);
    if (fd < 0) return os_error("open", path, errno);
    return std::unique_ptr<WalFile>(std::make_unique<PosixFile>(fd, path));
  }

  Status create_dirs(const std::filesystem::path& dir) override {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return unavailable("create " + dir.string() + ": " + ec.message());
    return Status::ok();
  }

  Result<std::vector<std::string>> list(const std::filesystem::path& dir) override {
    std::error_code ec;
    std::vector<std::string> names;
    for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      if (it->is_regular_file(ec)) names.push_back(it->path().filename().string());
    }
    if (ec) return unavailable("list " + dir.string() + ": " + ec.message());
    return names;
  }

  Status remove(const std::filesystem::path& path) override {
    if (::unlink(path.c_str()) != 0) return os_error("unlink", path, errno);
    return Status::ok();
  }

  Status rename(const std::filesystem::path& from, const std::filesystem::path& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) return os_error("rename", from, errno);
    return Status::ok();
  }

  Status sync_dir(const std::filesystem::path& dir) override {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return os_error("open", dir, errno);
    int rc = ::fsync(fd);
    int err = errno;
    ::close(fd);
    if (rc != 0) return os_error("fsync", dir, err);
    return Status::ok();
  }

  Status write_file_atomically(const std::filesystem::path& path,
                               std::string_view contents) override {
    std::filesystem::path tmp = path;
    tmp += ".tmp";
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return os_error("open", tmp, errno);
    PosixFile file(fd, tmp);
    BASALT_RETURN_IF_ERROR(file.write_at(0, contents));
    if (::fsync(fd) != 0) return os_error("fsync", tmp, errno);
    if (::rename(tmp.c_str(), path.c_str()) != 0) return os_error("rename", tmp, errno);
    return sync_dir(path.parent_path().empty() ? "." : path.parent_path());
  }

  Result<std::string> read_file(const std::filesystem::path& path) override {
    auto file = open(path, OpenMode::kRead);
    if (!file) return file.status();
    auto size = (*file)->size();
    if (!size) return size.status();
    std::string out(*size, '\0');
    auto n = (*file)->read_at(0, std::span<char>(out.data(), out.size()));
    if (!n) return n.status();
    out.resize(*n);
    return out;
  }
};

}  // namespace

std::shared_ptr<WalFileSystem> posix_wal_file_system() {
  return std::make_shared<PosixFileSystem>();
}

}  // namespace basalt::wal
