#include "http/content_coding.h"

#include <zlib.h>

#include <algorithm>
#include <cctype>

namespace basalt::http {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// window_bits: 15+32 auto-detects gzip or zlib headers; -15 is a raw deflate stream.
Result<std::string> inflate_bounded(std::string_view in, size_t max_bytes, int window_bits) {
  z_stream zs{};
  if (inflateInit2(&zs, window_bits) != Z_OK) return internal_error("zlib init failed");
  std::string out;
  out.resize(std::min<size_t>(max_bytes + 1, std::max<size_t>(in.size() * 4, 4096)));
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  size_t produced = 0;
  int rc = Z_OK;
  while (true) {
    if (produced == out.size()) {
      if (out.size() > max_bytes) break;
      out.resize(std::min<size_t>(max_bytes + 1, out.size() * 2));
    }
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + produced);
    zs.avail_out = static_cast<uInt>(out.size() - produced);
    rc = inflate(&zs, Z_NO_FLUSH);
    produced = out.size() - zs.avail_out;
    if (rc == Z_STREAM_END) {
      // A gzip body may hold several members; decode the next one too.
      if (zs.avail_in > 0 && window_bits > 0) {
        if (inflateReset(&zs) != Z_OK) break;
        continue;
      }
      break;
    }
    if (rc != Z_OK && rc != Z_BUF_ERROR) break;
    if (rc == Z_BUF_ERROR && zs.avail_in == 0 && produced < out.size()) break;  // truncated
  }
  inflateEnd(&zs);
  if (produced > max_bytes) {
    return Status(StatusCode::kPayloadTooLarge,
                  "decompressed body exceeds the limit of " + std::to_string(max_bytes) + " bytes");
  }
  if (rc != Z_STREAM_END) {
    std::string why = zs.msg ? zs.msg : (rc == Z_BUF_ERROR || rc == Z_OK ? "truncated stream"
                                                                          : "corrupt stream");
    return invalid_argument("malformed compressed body: " + why);
  }
  out.resize(produced);
  return out;
}

}  // namespace

Result<std::string> decode_body(std::string_view encoding, std::string_view body,
                                size_t max_bytes) {
  if (encoding.empty() || iequals(encoding, "identity")) {
    if (body.size() > max_bytes)
      return Status(StatusCode::kPayloadTooLarge,
                    "body exceeds the limit of " + std::to_string(max_bytes) + " bytes");
    return std::string(body);
  }
  if (iequals(encoding, "gzip") || iequals(encoding, "x-gzip"))
    return inflate_bounded(body, max_bytes, 15 + 32);
  if (iequals(encoding, "deflate")) {
    // HTTP's "deflate" is zlib-wrapped, but some clients send a raw deflate stream.
    auto r = inflate_bounded(body, max_bytes, 15);
    if (r.is_ok() || r.status().code() == StatusCode::kPayloadTooLarge) return r;
    return inflate_bounded(body, max_bytes, -15);
  }
  return failed_precondition("unsupported Content-Encoding \"" + std::string(encoding) +
                             "\" (supported: gzip, deflate, identity)");
}

std::string gzip_compress(std::string_view data, int level) {
  z_stream zs{};
  deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&zs, data.size()) + 32, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

}  // namespace basalt::http
