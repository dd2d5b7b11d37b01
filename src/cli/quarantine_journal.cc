#include "cli/quarantine_journal.h"

#include <fcntl.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

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

}  // namespace basalt::cli
