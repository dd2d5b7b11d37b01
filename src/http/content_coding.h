#pragma once
// Decoding of request bodies by Content-Encoding. zlib does the work; this bounds the output so
// a small compressed body cannot expand without limit (a decompression bomb).

#include <string>
#include <string_view>

#include "common/status.h"

namespace basalt::http {

// Decodes `body` for `encoding` ("", "identity", "gzip", "x-gzip", "deflate"; case-insensitive).
// Errors: kInvalidArgument (400) for a malformed stream, kPayloadTooLarge (413) when the output
// would exceed `max_bytes`, kFailedPrecondition for an unknown encoding (the server answers 415).
Result<std::string> decode_body(std::string_view encoding, std::string_view body, size_t max_bytes);

// gzip-compresses `data` (for tests and clients) at zlib `level` (1 fastest … 9 smallest;
// the default is zlib's own, 6).
std::string gzip_compress(std::string_view data, int level = 6);

}  // namespace basalt::http
