#include "wal/record_format.h"

#include <gtest/gtest.h>

#include <string>

namespace basalt::wal {
namespace {

std::string frame(Lsn lsn, uint8_t flags, std::string_view payload) {
  std::string out(frame_bytes_of(payload.size()), '\0');
  EXPECT_EQ(encode_frame(out.data(), lsn, flags, payload), out.size());
  return out;
}

TEST(RecordFormat, RoundTrip) {
  std::string f = frame(42, kFirstOfCall | kLastOfCall, "hello");
  const std::string bytes = f + "trailing bytes";
  DecodedFrame d = decode_frame(bytes);
  ASSERT_EQ(d.check, FrameCheck::kOk);
  EXPECT_EQ(d.lsn, 42u);
  EXPECT_EQ(d.flags, kFirstOfCall | kLastOfCall);
  EXPECT_EQ(d.payload, "hello");
  EXPECT_EQ(d.frame_bytes, kFrameHeaderBytes + 5);
  // The magic is stored little-endian.
  EXPECT_EQ(static_cast<unsigned char>(f[0]), 0xB7);
  EXPECT_EQ(static_cast<unsigned char>(f[3]), 0xE1);
}

// The bytes of a frame as docs/wal_format.md defines them, its checksum computed apart (zlib's
// crc32 of header bytes 8..23 and the payload): logs written by any release stay readable.
TEST(RecordFormat, MatchesTheDocumentedBytes) {
  const std::string documented(
      "\xb7\x5a\x17\xe1\x15\x36\x6a\xc3\x2a\x00\x00\x00\x00\x00\x00\x00\x05\x00\x00\x00\x03\x00"
      "\x00\x00hello",
      29);
  EXPECT_EQ(frame(42, kFirstOfCall | kLastOfCall, "hello"), documented);
  DecodedFrame d = decode_frame(documented);
  ASSERT_EQ(d.check, FrameCheck::kOk);
  EXPECT_EQ(d.payload, "hello");
}

TEST(RecordFormat, EmptyPayload) {
  DecodedFrame d = decode_frame(frame(0, kFirstOfCall, ""));
  ASSERT_EQ(d.check, FrameCheck::kOk);
  EXPECT_TRUE(d.payload.empty());
}

TEST(RecordFormat, EveryFlippedByteIsDetected) {
  std::string f = frame(7, kLastOfCall, "payload bytes");
  for (size_t i = 0; i < f.size(); ++i) {
    std::string bad = f;
    bad[i] ^= 0x5A;
    EXPECT_NE(decode_frame(bad).check, FrameCheck::kOk) << "byte " << i;
  }
}

TEST(RecordFormat, PrefixesAreIncomplete) {
  std::string f = frame(7, kLastOfCall, "payload bytes");
  for (size_t n = 0; n < f.size(); ++n) {
    EXPECT_EQ(decode_frame(std::string_view(f).substr(0, n)).check, FrameCheck::kIncomplete)
        << n;
  }
  EXPECT_EQ(decode_frame("xy").check, FrameCheck::kBad);
}

TEST(RecordFormat, ImpossibleLengthIsBad) {
  std::string f = frame(1, kFirstOfCall, "x");
  f[19] = 0x7F;  // length far above kMaxRecordBytes
  EXPECT_EQ(decode_frame(f).check, FrameCheck::kBad);
}

TEST(RecordFormat, SegmentNames) {
  EXPECT_EQ(segment_file_name(0), "00000000000000000000.wal");
  EXPECT_EQ(segment_file_name(1234), "00000000000000001234.wal");
  EXPECT_EQ(parse_segment_file_name("00000000000000001234.wal"), 1234u);
  EXPECT_EQ(parse_segment_file_name(segment_file_name(UINT64_MAX)), UINT64_MAX);
  EXPECT_FALSE(parse_segment_file_name("99999999999999999999.wal"));  // overflows
  EXPECT_FALSE(parse_segment_file_name("0000000000000000123x.wal"));
  EXPECT_FALSE(parse_segment_file_name("00000000000000001234.tmp"));
  EXPECT_FALSE(parse_segment_file_name("consumers"));
}

}  // namespace
}  // namespace basalt::wal
