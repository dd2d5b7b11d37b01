#include "http/request.h"

#include <boost/beast/core/string.hpp>

namespace basalt::http {

namespace beast = boost::beast;

Request::Request(Message message, std::string remote_address)
    : message_(std::move(message)), remote_address_(std::move(remote_address)) {
  parse_target();
}

Request Request::make(std::string_view method, std::string_view target, std::string body,
                      const NameValues& headers, std::string remote_address) {
  Message m;
  m.method_string(method);
  m.target(target);
  m.version(11);
  for (const auto& [name, value] : headers) m.insert(name, value);
  m.body() = std::move(body);
  m.prepare_payload();
  return Request(std::move(m), std::move(remote_address));
}

void Request::parse_target() {
  std::string_view target = message_.target();
  size_t q = target.find('?');
  path_ = target.substr(0, q);
  if (q == std::string_view::npos) return;
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    size_t amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    std::string_view name = pair.substr(0, eq);
    std::string_view value = eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
    query_.emplace_back(percent_decode(name, true), percent_decode(value, true));
  }
}

std::string_view Request::query(std::string_view name) const {
  for (const auto& [n, v] : query_)
    if (n == name) return v;
  return {};
}

bool Request::has_query(std::string_view name) const {
  for (const auto& [n, v] : query_)
    if (n == name) return true;
  return false;
}

std::string_view Request::path_param(std::string_view name) const {
  for (const auto& [n, v] : params_)
    if (n == name) return v;
  return {};
}

std::string_view Request::header(std::string_view name) const {
  auto it = message_.find(beast::string_view(name.data(), name.size()));
  if (it == message_.end()) return {};
  return it->value();
}

Response Response::json(int status, std::string body) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

Response Response::text(int status, std::string body, std::string content_type) {
  Response r;
  r.status = status;
  r.content_type = std::move(content_type);
  r.body = std::move(body);
  return r;
}

Response Response::error(int status, std::string_view message) {
  Response r;
  r.status = status;
  r.body.reserve(32 + message.size());
  r.body = R"({"success":false,"error":)";
  append_json_string(message, r.body);
  r.body.push_back('}');
  return r;
}

std::string percent_decode(std::string_view s, bool plus_is_space) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2])));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace basalt::http
