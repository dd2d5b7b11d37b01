#include "cli/quarantine_journal.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>

#include "event/event.h"

namespace basalt::cli {

namespace {

constexpr const char* kConsumer = "quarantine-journal";

std::string hex_of(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

// One journal line for a WAL record, or "" for an event record (not the journal's).
std::string journal_line(const wal::WalRecord& record) {
  nlohmann::json line;
  auto kind = event::record_kind(record.data);
  if (kind && *kind == event::RecordKind::kEvent) return "";
  auto q = kind ? event::decode_quarantined(record.data)
                : Result<event::QuarantinedEvent>(kind.status());
  if (q) {
    line = {{"quarantine_id", q->quarantine_id},
            {"received_at_us", q->received_at_us},
            {"source", q->source},
            {"reason", q->reason},
            {"raw", q->raw_json},
            {"ip", q->ip},
            {"call_type", q->type ? nlohmann::json(std::string(event::event_type_name(*q->type)))
                                  : nlohmann::json(nullptr)}};
  } else {
    // Kept like the loader keeps it: the bytes in hex (first 64 KiB), with the reason.
    line = {{"quarantine_id", nullptr},
            {"received_at_us", nullptr},
            {"source", nullptr},
            {"reason", "undecodable WAL record: " + q.status().message() + " (LSN " +
                           std::to_string(record.lsn) + ", raw shown as hex)"},
            {"raw", hex_of(std::string_view(record.data).substr(0, 64 * 1024))},
            {"ip", nullptr},
            {"call_type", nullptr}};
  }
  return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace

QuarantineJournal::QuarantineJournal(wal::Wal& wal, std::filesystem::path file,
                                     MetricsRegistry& metrics)
    : wal_(wal),
      file_(std::move(file)),
      written_metric_(metrics.counter("basalt_quarantine_journal_records_total",
                                      "Refused events a collector wrote to its quarantine file")),
      errors_metric_(metrics.counter("basalt_quarantine_journal_errors_total",
                                     "Failed writes of the quarantine file (each retried)")) {}

QuarantineJournal::~QuarantineJournal() {
  stop();
  if (fd_ >= 0) ::close(fd_);
}

Status QuarantineJournal::start() {
  BASALT_RETURN_IF_ERROR(wal_.register_consumer(kConsumer));
  auto from = wal_.committed(kConsumer);
  if (!from) return from.status();
  wal::Lsn first = wal_.stats().first_lsn;
  if (*from < first) {
    // Only when segments were deleted by hand: say so, never silently.
    spdlog::error("quarantine journal: WAL records {}..{} were deleted before it read them",
                  *from, first);
    *from = first;
  }
  auto reader = wal_.reader(*from);
  if (!reader) return reader.status();
  reader_ = std::move(*reader);
  BASALT_RETURN_IF_ERROR(open_file());
  thread_ = std::thread([this] { run(); });
  return Status::ok();
}

Status QuarantineJournal::open_file() {
  int fd = ::open(file_.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) {
    return unavailable("cannot open the quarantine file " + file_.string() + ": " +
                       std::strerror(errno));
  }
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
  torn_ = false;
  // A crash in the middle of a write leaves part of a line at the end: end it first.
  if (off_t size = ::lseek(fd_, 0, SEEK_END); size > 0) {
    char last = '\n';
    if (::pread(fd_, &last, 1, size - 1) != 1 || last != '\n') torn_ = true;
  }
  return Status::ok();
}

void QuarantineJournal::stop() {
  if (!thread_.joinable()) return;
  drain_target_ = wal_.stats().durable_end;
  stopping_ = true;
  thread_.join();
}

bool QuarantineJournal::step() {
  auto got = reader_->next(1000, 8u << 20, std::chrono::milliseconds(200));
  if (!got) {
    spdlog::error("quarantine journal: reading the WAL at {} failed: {}", reader_->position(),
                  got.status().to_string());
    return false;
  }
  if (got->empty()) return true;
  std::string lines;
  size_t count = 0;
  for (const wal::WalRecord& r : *got) {
    std::string line = journal_line(r);
    if (line.empty()) continue;
    lines += line;
    ++count;
  }
  if (!lines.empty() && reopen_.exchange(false)) {
    if (Status s = open_file(); !s.is_ok()) {
      spdlog::error("quarantine journal: {}; writing on to the file open before", s.message());
    } else {
      spdlog::info("quarantine journal: reopened {}", file_.string());
    }
  }
  if (!lines.empty()) {
    // After a failed write the file may end in part of a line: end it first.
    if (torn_) lines.insert(0, "\n");
    torn_ = true;
    std::string_view rest = lines;
    while (!rest.empty()) {
      ssize_t n = ::write(fd_, rest.data(), rest.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        spdlog::error("quarantine journal: writing {} failed: {}", file_.string(),
                      std::strerror(errno));
        return false;
      }
      rest.remove_prefix(static_cast<size_t>(n));
    }
    if (::fdatasync(fd_) != 0) {
      spdlog::error("quarantine journal: syncing {} failed: {}", file_.string(),
                    std::strerror(errno));
      return false;
    }
    torn_ = false;
    written_ += count;
    written_metric_.inc(count);
  }
  // The file holds them: the WAL may now let their segments go.
  if (Status s = wal_.commit(kConsumer, reader_->position()); !s.is_ok()) {
    spdlog::warn("quarantine journal: committing LSN {} failed (written again after a "
                 "restart): {}",
                 reader_->position(), s.to_string());
  }
  return true;
}

void QuarantineJournal::run() {
  std::chrono::milliseconds delay(100);
  while (!(stopping_ && reader_->position() >= drain_target_)) {
    const wal::Lsn before = reader_->position();
    if (step()) {
      delay = std::chrono::milliseconds(100);
      continue;
    }
    errors_metric_.inc();
    // The batch is read again from its start and written whole (a part written before the
    // failure, if any, is a duplicate or a torn line that readers skip).
    if (stopping_) {
      spdlog::error("quarantine journal: stopping with WAL records from {} not written; they "
                    "stay in the WAL and are written at the next start",
                    before);
      return;
    }
    std::this_thread::sleep_for(delay);
    delay = std::min(delay * 2, std::chrono::milliseconds(5000));
    auto reader = wal_.reader(before);
    if (reader) reader_ = std::move(*reader);
  }
}

namespace {

// The lines of `file` that are JSON objects (a missing file has none).
Result<std::vector<nlohmann::json>> json_lines(const std::filesystem::path& file) {
  std::vector<nlohmann::json> out;
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) return out;
  std::ifstream in(file);
  if (!in) return unavailable("cannot read " + file.string() + ": " + std::strerror(errno));
  for (std::string line; std::getline(in, line);) {
    nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_object()) out.push_back(std::move(j));
  }
  if (in.bad()) return unavailable("cannot read " + file.string() + ": " + std::strerror(errno));
  return out;
}

std::string string_of(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

}  // namespace

Result<std::vector<QuarantineEntry>> read_quarantine_file(const std::filesystem::path& file) {
  auto lines = json_lines(file);
  if (!lines) return lines.status();
  std::vector<QuarantineEntry> out;
  std::set<std::string> seen;
  for (const nlohmann::json& j : *lines) {
    QuarantineEntry e;
    if (auto it = j.find("quarantine_id"); it != j.end() && it->is_string()) {
      if (!seen.insert(it->get<std::string>()).second) continue;  // written again
      e.quarantine_id = it->get<std::string>();
    }
    if (auto it = j.find("received_at_us"); it != j.end() && it->is_number_integer())
      e.received_at_us = it->get<int64_t>();
    e.source = string_of(j, "source");
    e.reason = string_of(j, "reason");
    e.raw = string_of(j, "raw");
    e.ip = string_of(j, "ip");
    e.call_type = string_of(j, "call_type");
    out.push_back(std::move(e));
  }
  return out;
}

std::filesystem::path quarantine_replays_path(const std::filesystem::path& data_dir) {
  return data_dir / "quarantine_replays.jsonl";
}

Result<std::map<std::string, int64_t>> read_quarantine_replays(const std::filesystem::path& file) {
  auto lines = json_lines(file);
  if (!lines) return lines.status();
  std::map<std::string, int64_t> out;
  for (const nlohmann::json& j : *lines) {
    auto at = j.find("replayed_at_us");
    const std::string id = string_of(j, "quarantine_id");
    if (id.empty() || at == j.end() || !at->is_number_integer()) continue;
    out.emplace(id, at->get<int64_t>());
  }
  return out;
}

Result<std::unique_ptr<DataDirLock>> DataDirLock::acquire(const std::filesystem::path& data_dir) {
  const std::filesystem::path path = data_dir / "collector.lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) return unavailable("cannot open " + path.string() + ": " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    ::close(fd);
    if (error == EWOULDBLOCK) {
      return failed_precondition(
          "another process (a running `basalt collect`?) uses the data "
          "folder " +
          data_dir.string() + " (" + path.string() + " is locked)");
    }
    return unavailable("cannot lock " + path.string() + ": " + std::strerror(error));
  }
  return std::make_unique<DataDirLock>(fd);
}

DataDirLock::~DataDirLock() { ::close(fd_); }

}  // namespace basalt::cli
