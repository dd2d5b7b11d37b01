#include "wal/record_format.h"

#include <libdeflate.h>

#include <cstring>

namespace basalt::wal {
namespace {

void put_u32(char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>(v >> (8 * i));
}
void put_u64(char* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<char>(v >> (8 * i));
}
uint32_t get_u32(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}
uint64_t get_u64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

uint32_t frame_crc(const char* header, std::string_view payload) {
  // libdeflate's CRC-32 is zlib's (the same polynomial and bit order), several times faster.
  const uint32_t crc = libdeflate_crc32(0, header + 8, kFrameHeaderBytes - 8);
  return libdeflate_crc32(crc, payload.data(), payload.size());
}

constexpr size_t kSegmentDigits = 20;
constexpr std::string_view kSegmentSuffix = ".wal";

}  // namespace

size_t encode_frame(char* dst, Lsn lsn, uint8_t flags, std::string_view payload) {
  put_u32(dst, kFrameMagic);
  put_u64(dst + 8, lsn);
  put_u32(dst + 16, static_cast<uint32_t>(payload.size()));
  dst[20] = static_cast<char>(flags);
  dst[21] = dst[22] = dst[23] = 0;
  if (!payload.empty()) std::memcpy(dst + kFrameHeaderBytes, payload.data(), payload.size());
  put_u32(dst + 4, frame_crc(dst, payload));
  return kFrameHeaderBytes + payload.size();
}

DecodedFrame decode_frame(std::string_view bytes) {
  DecodedFrame f;
  if (bytes.size() < kFrameHeaderBytes) {
    // A prefix of the magic may still be the start of a torn frame.
    if (bytes.empty()) {
      f.check = FrameCheck::kIncomplete;
      return f;
    }
    size_t n = bytes.size() < 4 ? bytes.size() : 4;
    char magic[4];
    put_u32(magic, kFrameMagic);
    f.check = std::memcmp(bytes.data(), magic, n) == 0 ? FrameCheck::kIncomplete : FrameCheck::kBad;
    return f;
  }
  const char* h = bytes.data();
  uint32_t length = get_u32(h + 16);
  auto flags = static_cast<uint8_t>(h[20]);
  if (get_u32(h) != kFrameMagic || length > kMaxRecordBytes || (flags & ~kKnownFlags) != 0 ||
      h[21] != 0 || h[22] != 0 || h[23] != 0) {
    return f;
  }
  f.frame_bytes = kFrameHeaderBytes + length;
  if (bytes.size() < f.frame_bytes) {
    f.check = FrameCheck::kIncomplete;
    return f;
  }
  std::string_view payload(h + kFrameHeaderBytes, length);
  if (frame_crc(h, payload) != get_u32(h + 4)) return f;
  f.check = FrameCheck::kOk;
  f.lsn = get_u64(h + 8);
  f.flags = flags;
  f.payload = payload;
  return f;
}

std::string segment_file_name(Lsn first_lsn) {
  std::string digits = std::to_string(first_lsn);
  return std::string(kSegmentDigits - digits.size(), '0') + digits + std::string(kSegmentSuffix);
}

std::optional<Lsn> parse_segment_file_name(std::string_view name) {
  if (name.size() != kSegmentDigits + kSegmentSuffix.size() ||
      name.substr(kSegmentDigits) != kSegmentSuffix) {
    return std::nullopt;
  }
  Lsn v = 0;
  for (size_t i = 0; i < kSegmentDigits; ++i) {
    char c = name[i];
    if (c < '0' || c > '9') return std::nullopt;
    Lsn d = static_cast<Lsn>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  return v;
}

}  // namespace basalt::wal
