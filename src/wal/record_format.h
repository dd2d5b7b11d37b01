#pragma once
// The frame every WAL record is stored in, and the names of segment files. This file and
// docs/wal_format.md are the only places that know the on-disk layout.
//
//   offset size  field
//   0      4     magic 0xE1175AB7 (bytes B7 5A 17 E1)
//   4      4     CRC-32 (zlib's crc32) over bytes 8..24 of the header, then the payload
//   8      8     LSN
//   16     4     payload length
//   20     1     flags: kFirstOfCall | kLastOfCall
//   21     3     reserved, zero
//   24     n     payload
//
// All integers are little-endian.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "wal/wal.h"

namespace basalt::wal {

inline constexpr uint32_t kFrameMagic = 0xE1175AB7u;
inline constexpr size_t kFrameHeaderBytes = 24;
// Largest payload a frame may hold; larger lengths are treated as corruption.
inline constexpr uint32_t kMaxRecordBytes = 64u << 20;

inline constexpr uint8_t kFirstOfCall = 1;  // first record of an append call
inline constexpr uint8_t kLastOfCall = 2;   // last record of an append call: the call is complete
inline constexpr uint8_t kKnownFlags = kFirstOfCall | kLastOfCall;

enum class FrameCheck {
  kOk,
  kIncomplete,  // the bytes end before the frame does (a torn write, or more must be read)
  kBad,         // wrong magic, impossible length, unknown flags or checksum mismatch
};

struct DecodedFrame {
  FrameCheck check = FrameCheck::kBad;
  Lsn lsn = 0;
  uint8_t flags = 0;
  std::string_view payload;  // points into the decoded bytes
  size_t frame_bytes = 0;    // header + payload, valid when check is kOk or kIncomplete
};

inline size_t frame_bytes_of(size_t payload_bytes) { return kFrameHeaderBytes + payload_bytes; }

// Writes the frame of `payload` at `dst`, which must have room for frame_bytes_of(payload.size()).
// REQUIRES: payload.size() <= kMaxRecordBytes. Returns the bytes written.
size_t encode_frame(char* dst, Lsn lsn, uint8_t flags, std::string_view payload);

// Decodes the frame starting at bytes[0]. Never reads outside `bytes`; any input is safe.
DecodedFrame decode_frame(std::string_view bytes);

// "00000000000000000042.wal" for 42.
std::string segment_file_name(Lsn first_lsn);
// The first LSN named by a segment file name, or nothing when `name` is not a segment's name.
std::optional<Lsn> parse_segment_file_name(std::string_view name);

}  // namespace basalt::wal
