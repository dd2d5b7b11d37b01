#include "wal/consumers.h"

#include <charconv>
#include <utility>

namespace basalt::wal {
namespace {

constexpr std::string_view kHeader = "basalt-wal-consumers 1";

}  // namespace

bool valid_consumer_name(std::string_view name) {
  if (name.empty() || name.size() > 200) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string serialize_consumers(const std::map<std::string, Lsn>& offsets) {
  std::string out(kHeader);
  out += '\n';
  for (const auto& [name, lsn] : offsets) {
    out += std::to_string(lsn);
    out += ' ';
    out += name;
    out += '\n';
  }
  return out;
}

Result<std::map<std::string, Lsn>> parse_consumers(std::string_view text) {
  std::map<std::string, Lsn> offsets;
  size_t line_no = 0;
  while (!text.empty()) {
    size_t eol = text.find('\n');
    if (eol == std::string_view::npos) {
      return data_loss("consumers file: line " + std::to_string(line_no + 1) + " is unterminated");
    }
    std::string_view line = text.substr(0, eol);
    text.remove_prefix(eol + 1);
    ++line_no;
    if (line_no == 1) {
      if (line != kHeader) return data_loss("consumers file: unknown header");
      continue;
    }
    size_t space = line.find(' ');
    Lsn lsn = 0;
    std::string_view digits = line.substr(0, space);
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), lsn);
    std::string_view name =
        space == std::string_view::npos ? std::string_view() : line.substr(space + 1);
    if (ec != std::errc() || end != digits.data() + digits.size() || digits.empty() ||
        !valid_consumer_name(name)) {
      return data_loss("consumers file: line " + std::to_string(line_no) + " is malformed");
    }
    offsets[std::string(name)] = lsn;
  }
  if (line_no == 0) return data_loss("consumers file: empty");
  return offsets;
}

Result<ConsumerOffsets> ConsumerOffsets::load(std::shared_ptr<WalFileSystem> fs,
                                              const std::filesystem::path& dir) {
  std::filesystem::path path = dir / kConsumersFileName;
  auto text = fs->read_file(path);
  if (!text) {
    if (text.status().code() != StatusCode::kNotFound) return text.status();
    return ConsumerOffsets(std::move(fs), std::move(path), {});
  }
  auto offsets = parse_consumers(*text);
  if (!offsets) return offsets.status();
  return ConsumerOffsets(std::move(fs), std::move(path), std::move(*offsets));
}

Status ConsumerOffsets::set(const std::string& name, Lsn lsn) {
  std::map<std::string, Lsn> next = offsets_;
  next[name] = lsn;
  BASALT_RETURN_IF_ERROR(fs_->write_file_atomically(path_, serialize_consumers(next)));
  offsets_ = std::move(next);
  return Status::ok();
}

}  // namespace basalt::wal
