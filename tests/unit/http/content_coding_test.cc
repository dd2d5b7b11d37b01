#include "http/content_coding.h"

#include <gtest/gtest.h>
#include <zlib.h>

namespace basalt::http {
namespace {

TEST(ContentCodingTest, GzipRoundTrip) {
  std::string data(100000, 'x');
  for (size_t i = 0; i < data.size(); i += 7) data[i] = static_cast<char>('a' + i % 26);
  auto r = decode_body("gzip", gzip_compress(data), 1 << 20);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(*r, data);
  r = decode_body("GZIP", gzip_compress("hi"), 10);
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(*r, "hi");
}

TEST(ContentCodingTest, DeflateZlibAndRaw) {
  std::string data = "hello hello hello hello";
  std::string z(compressBound(data.size()), '\0');
  uLongf n = z.size();
  ASSERT_EQ(compress(reinterpret_cast<Bytef*>(z.data()), &n,
                     reinterpret_cast<const Bytef*>(data.data()), data.size()),
            Z_OK);
  z.resize(n);
  auto r = decode_body("deflate", z, 1000);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(*r, data);
  // Raw deflate: strip the 2-byte zlib header and 4-byte checksum.
  r = decode_body("deflate", z.substr(2, z.size() - 6), 1000);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(*r, data);
}

TEST(ContentCodingTest, MalformedAndTruncated) {
  auto r = decode_body("gzip", "definitely not gzip", 1000);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  std::string gz = gzip_compress(std::string(5000, 'q'));
  r = decode_body("gzip", gz.substr(0, gz.size() / 2), 100000);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
}

TEST(ContentCodingTest, BombIsStoppedAtTheLimit) {
  std::string gz = gzip_compress(std::string(50 << 20, '\0'));
  EXPECT_LT(gz.size(), 100000u);
  auto r = decode_body("gzip", gz, 1 << 20);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), StatusCode::kPayloadTooLarge);
  EXPECT_NE(r.status().message().find("1048576"), std::string::npos);
}

TEST(ContentCodingTest, UnknownEncodingAndIdentityLimit) {
  auto r = decode_body("br", "x", 10);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("br"), std::string::npos);
  EXPECT_EQ(decode_body("identity", "12345", 4).status().code(), StatusCode::kPayloadTooLarge);
}

}  // namespace
}  // namespace basalt::http
