#pragma once
// What a handler sees (Request) and returns (Response). A Request owns the parsed message; its
// body is already decoded (gzip/deflate). Handlers may mutate the body in place (e.g. to pad it
// for a SIMD parser).

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/json_string.h"

namespace basalt::http {

using Message = boost::beast::http::request<boost::beast::http::string_body>;
using NameValues = std::vector<std::pair<std::string, std::string>>;

class Request {
 public:
  Request() = default;
  Request(Message message, std::string remote_address);

  // For tests and in-process callers: `target` is path and query.
  static Request make(std::string_view method, std::string_view target, std::string body = {},
                      const NameValues& headers = {}, std::string remote_address = "127.0.0.1");

  std::string_view method() const { return message_.method_string(); }
  boost::beast::http::verb verb() const { return message_.method(); }
  std::string_view target() const { return message_.target(); }
  // The target up to '?', not decoded.
  std::string_view path() const { return path_; }
  // Decoded query parameters in order; query() returns the first value or "".
  const NameValues& query_params() const { return query_; }
  std::string_view query(std::string_view name) const;
  bool has_query(std::string_view name) const;
  // Values of "{name}" segments of the matched route (decoded); "*" for a prefix route's rest.
  std::string_view path_param(std::string_view name) const;
  // The first header with this name (case-insensitive), or "".
  std::string_view header(std::string_view name) const;
  bool keep_alive() const { return message_.keep_alive(); }
  const std::string& body() const { return message_.body(); }
  std::string& body() { return message_.body(); }
  const std::string& remote_address() const { return remote_address_; }

  // Used by the router.
  void set_path_params(NameValues params) { params_ = std::move(params); }

 private:
  void parse_target();

  Message message_;
  std::string remote_address_;
  std::string_view path_;
  NameValues query_;
  NameValues params_;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  NameValues headers;  // extra headers

  static Response json(int status, std::string body);
  static Response text(int status, std::string body,
                       std::string content_type = "text/plain; charset=utf-8");
  // {"success":false,"error":"<message>"}
  static Response error(int status, std::string_view message);
};

// Appends `s` as a JSON string literal (with quotes) to `out` (common/json_string.h).
using basalt::append_json_string;
// Decodes %XX and '+' (as space when `plus_is_space`); invalid escapes are kept as they are.
std::string percent_decode(std::string_view s, bool plus_is_space);

}  // namespace basalt::http
