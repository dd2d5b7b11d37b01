#include "collect/client_ip.h"

#include <algorithm>

namespace basalt::collect {

namespace {

bool is_trusted(std::string_view address, const std::vector<std::string>& trusted) {
  return std::find(trusted.begin(), trusted.end(), address) != trusted.end();
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::string client_ip(std::string_view peer, std::string_view forwarded_for,
                      const std::vector<std::string>& trusted_proxies) {
  if (trusted_proxies.empty() || !is_trusted(peer, trusted_proxies)) return std::string(peer);
  std::string_view rest = forwarded_for;
  std::string_view leftmost;
  while (!rest.empty()) {
    size_t comma = rest.rfind(',');
    std::string_view item =
        trim(comma == std::string_view::npos ? rest : rest.substr(comma + 1));
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(0, comma);
    if (item.empty()) continue;
    if (!is_trusted(item, trusted_proxies)) return std::string(item);
    leftmost = item;
  }
  return std::string(leftmost.empty() ? peer : leftmost);
}

}  // namespace basalt::collect
