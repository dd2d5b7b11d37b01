#include "http/router.h"

#include <algorithm>
#include <cassert>
#include <stdexcept>

namespace basalt::http {

namespace {

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> out;
  size_t i = 1;
  while (i <= path.size()) {
    size_t slash = path.find('/', i);
    if (slash == std::string_view::npos) slash = path.size();
    out.push_back(path.substr(i, slash - i));
    i = slash + 1;
  }
  return out;
}

}  // namespace

void Router::add(std::string method, std::string pattern, SyncHandler handler) {
  auto r = std::make_unique<Route>();
  r->method = std::move(method);
  r->pattern = std::move(pattern);
  r->sync = std::move(handler);
  add_route(std::move(r));
}

void Router::add_async(std::string method, std::string pattern, AsyncHandler handler) {
  auto r = std::make_unique<Route>();
  r->method = std::move(method);
  r->pattern = std::move(pattern);
  r->async = std::move(handler);
  add_route(std::move(r));
}

void Router::add_route(std::unique_ptr<Route> route) {
  if (route->pattern.empty() || route->pattern[0] != '/')
    throw std::invalid_argument("route pattern must start with '/': " + route->pattern);
  const Route* r = route.get();
  routes_.push_back(std::move(route));
  bool is_pattern = r->pattern.find('{') != std::string::npos ||
                    r->pattern.back() == '*';
  if (!is_pattern) {
    exact_[r->pattern].push_back(r);
    return;
  }
  std::vector<std::string> segments;
  for (auto s : split_path(r->pattern)) segments.emplace_back(s);
  for (auto& p : patterns_) {
    if (p.segments == segments) {
      p.routes.push_back(r);
      return;
    }
  }
  // Prefix patterns ("/static/*", "/*") go after every parameter pattern, longer prefixes
  // first, so a catch-all added early never hides a route added later.
  bool star = segments.back() == "*";
  auto at = std::find_if(patterns_.begin(), patterns_.end(), [&](const Pattern& p) {
    return p.segments.back() == "*" && (!star || p.segments.size() < segments.size());
  });
  patterns_.insert(at, {std::move(segments), {r}});
}

Router::Match Router::choose(const std::vector<const Route*>& routes, std::string_view method) {
  Match m;
  for (const Route* r : routes) {
    if (r->method == method) {
      m.route = r;
      m.status = 200;
    }
    if (!m.allow.empty()) m.allow += ", ";
    m.allow += r->method;
  }
  if (!m.route) m.status = 405;
  return m;
}

Router::Match Router::match(std::string_view method, std::string_view path) const {
  if (auto it = exact_.find(path); it != exact_.end()) return choose(it->second, method);
  if (!patterns_.empty()) {
    auto parts = split_path(path);
    for (const auto& p : patterns_) {
      NameValues params;
      bool ok = true;
      size_t i = 0;
      for (; i < p.segments.size() && ok; ++i) {
        const std::string& seg = p.segments[i];
        if (seg == "*" && i + 1 == p.segments.size()) {
          std::string rest;
          for (size_t j = i; j < parts.size(); ++j) {
            if (j > i) rest.push_back('/');
            rest.append(parts[j]);
          }
          params.emplace_back("*", percent_decode(rest, false));
          i = parts.size();
          break;
        }
        if (i >= parts.size()) {
          ok = false;
        } else if (seg.size() >= 2 && seg.front() == '{' && seg.back() == '}') {
          if (parts[i].empty()) ok = false;
          else params.emplace_back(seg.substr(1, seg.size() - 2), percent_decode(parts[i], false));
        } else if (seg != parts[i]) {
          ok = false;
        }
      }
      if (!ok || (i != parts.size() && p.segments.back() != "*")) continue;
      if (p.segments.back() != "*" && parts.size() != p.segments.size()) continue;
      Match m = choose(p.routes, method);
      m.params = std::move(params);
      return m;
    }
  }
  Match m;
  m.status = 404;
  return m;
}

}  // namespace basalt::http
