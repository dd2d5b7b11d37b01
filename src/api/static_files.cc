#include "api/static_files.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "http/content_coding.h"

namespace basalt::api {

namespace {

constexpr std::string_view kImmutable = "public, max-age=31536000, immutable";
constexpr std::string_view kRevalidate = "no-cache";
constexpr std::string_view kShortLived = "public, max-age=3600";

// Prefixes that belong to the server's APIs: never answered with index.html.
constexpr std::array<std::string_view, 4> kReservedPrefixes = {"/api/", "/data/", "/v1/",
                                                               "/metrics"};

std::string_view extension_of(std::string_view name) {
  size_t slash = name.rfind('/');
  size_t dot = name.rfind('.');
  if (dot == std::string_view::npos || (slash != std::string_view::npos && dot < slash)) return {};
  return name.substr(dot + 1);
}

bool is_reserved(std::string_view path) {
  for (std::string_view p : kReservedPrefixes) {
    if (path.starts_with(p)) return true;
    if (p.back() == '/' && path == p.substr(0, p.size() - 1)) return true;
  }
  return false;
}

bool compressible(std::string_view type) {
  return type.starts_with("text/") || type.starts_with("application/json") ||
         type.starts_with("image/svg+xml") || type.starts_with("application/manifest+json");
}

// FNV-1a 64: a content fingerprint for ETags (not a security boundary).
std::string etag_of(std::string_view body) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : body) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return fmt::format("\"{:016x}-{:x}\"", h, body.size());
}

bool accepts_gzip(std::string_view accept_encoding) {
  // "gzip", "gzip, deflate, br", "br;q=1.0, gzip;q=0.8"; "gzip;q=0" refuses it.
  size_t pos = 0;
  while (pos < accept_encoding.size()) {
    size_t end = accept_encoding.find(',', pos);
    if (end == std::string_view::npos) end = accept_encoding.size();
    std::string_view item = accept_encoding.substr(pos, end - pos);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    if (item.starts_with("gzip") || item.starts_with("*")) {
      size_t q = item.find("q=");
      return q == std::string_view::npos ||
             std::strtod(std::string(item.substr(q + 2)).c_str(), nullptr) > 0;
    }
    pos = end + 1;
  }
  return false;
}

bool etag_matches(std::string_view if_none_match, std::string_view etag) {
  if (if_none_match == "*") return true;
  return if_none_match.find(etag) != std::string_view::npos;
}

// Checks a decoded request path: it must be absolute and name nothing outside the folder.
Status check_path(std::string_view raw, std::string_view decoded) {
  if (raw.find("%2f") != std::string_view::npos || raw.find("%2F") != std::string_view::npos ||
      raw.find("%5c") != std::string_view::npos || raw.find("%5C") != std::string_view::npos) {
    return invalid_argument("encoded slashes are not allowed in a file path");
  }
  if (decoded.empty() || decoded.front() != '/')
    return invalid_argument("the path must start with '/'");
  if (decoded.find('\0') != std::string_view::npos ||
      decoded.find('\\') != std::string_view::npos) {
    return invalid_argument("the path holds a character that is not allowed in a file path");
  }
  size_t pos = 1;
  while (pos <= decoded.size()) {
    size_t end = decoded.find('/', pos);
    if (end == std::string_view::npos) end = decoded.size();
    std::string_view seg = decoded.substr(pos, end - pos);
    if (seg == ".." || seg == ".")
      return invalid_argument("'.' and '..' are not allowed in a file path");
    pos = end + 1;
  }
  return Status::ok();
}

http::Response not_built_page(const std::filesystem::path& dir) {
  std::string body = fmt::format(
      "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Basalt</title>"
      "<link rel=\"icon\" href=\"data:,\"></head><body><h1>Basalt</h1><p>The web console is not "
      "built (no index.html in {}). Build it with <code>make build</code>, or set BASALT_UI_DIR to "
      "a built console. The API is served under <code>/api/v1/</code>.</p></body></html>",
      dir.string());
  auto r = http::Response::text(200, std::move(body), "text/html; charset=utf-8");
  r.headers.emplace_back("Cache-Control", std::string(kRevalidate));
  return r;
}

}  // namespace

std::string_view content_type_for(std::string_view file_name) {
  std::string ext(extension_of(file_name));
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  static const std::map<std::string, std::string_view, std::less<>> kTypes = {
      {"html", "text/html; charset=utf-8"},
      {"js", "text/javascript; charset=utf-8"},
      {"mjs", "text/javascript; charset=utf-8"},
      {"css", "text/css; charset=utf-8"},
      {"json", "application/json"},
      {"map", "application/json"},
      {"webmanifest", "application/manifest+json"},
      {"svg", "image/svg+xml"},
      {"png", "image/png"},
      {"jpg", "image/jpeg"},
      {"jpeg", "image/jpeg"},
      {"gif", "image/gif"},
      {"webp", "image/webp"},
      {"ico", "image/x-icon"},
      {"woff", "font/woff"},
      {"woff2", "font/woff2"},
      {"ttf", "font/ttf"},
      {"txt", "text/plain; charset=utf-8"},
      {"wasm", "application/wasm"},
  };
  auto it = kTypes.find(ext);
  return it == kTypes.end() ? std::string_view("application/octet-stream") : it->second;
}

std::filesystem::path default_ui_dir() {
  if (const char* env = std::getenv("BASALT_UI_DIR"); env && *env) return env;
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return "ui";
  return exe.parent_path() / "ui";
}

Result<std::unique_ptr<StaticFiles>> StaticFiles::load(const std::filesystem::path& root) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(root / "index.html", ec)) {
    return not_found(
        fmt::format("no built web console in {} (index.html is missing)", root.string()));
  }
  std::unique_ptr<StaticFiles> out(new StaticFiles(root));  // private constructor
  auto it = std::filesystem::recursive_directory_iterator(root, ec);
  if (ec) return unavailable(fmt::format("cannot list {}: {}", root.string(), ec.message()));
  for (const auto& entry : it) {
    // symlink_status: a link is not a regular file, so nothing outside the folder is read.
    if (!std::filesystem::is_regular_file(entry.symlink_status())) continue;
    std::string rel = entry.path().lexically_relative(root).generic_string();
    if (rel.empty() || rel.starts_with("..")) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    if (!in.good() && !in.eof()) return unavailable("cannot read " + entry.path().string());
    File f;
    f.body = ss.str();
    f.content_type = std::string(content_type_for(rel));
    f.etag = etag_of(f.body);
    if (rel == "index.html") {
      f.cache_control = std::string(kRevalidate);
    } else if (rel.starts_with("assets/")) {
      f.cache_control = std::string(kImmutable);  // Vite names these by content hash
    } else {
      f.cache_control = std::string(kShortLived);
    }
    if (compressible(f.content_type) && f.body.size() > 1024) {
      std::string z = http::gzip_compress(f.body);
      if (z.size() < f.body.size() * 9 / 10) f.gzip = std::move(z);
    }
    out->files_.emplace("/" + rel, std::move(f));
  }
  return out;
}

http::Response StaticFiles::serve(const http::Request& req) const {
  std::string_view raw = req.path();
  std::string decoded = http::percent_decode(raw, false);
  if (Status s = check_path(raw, decoded); !s.is_ok())
    return http::Response::error(400, s.message());

  if (is_reserved(decoded))
    return http::Response::error(404, fmt::format("no route for {} {}", req.method(), raw));

  std::string key = decoded == "/" ? "/index.html" : decoded;
  auto it = files_.find(key);
  if (it == files_.end()) {
    // A page path (no extension) is the browser-side router's: answer index.html. A missing
    // file (with an extension, or under assets/) is a real 404 so a stale bundle shows as one.
    if (!extension_of(decoded).empty() || decoded.starts_with("/assets/")) {
      return http::Response::error(404, fmt::format("no file {}", decoded));
    }
    it = files_.find("/index.html");
    if (it == files_.end()) return http::Response::error(404, "the web console has no index.html");
  }
  const File& f = it->second;
  http::Response r;
  r.content_type = f.content_type;
  r.headers.emplace_back("Cache-Control", f.cache_control);
  r.headers.emplace_back("ETag", f.etag);
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  if (!f.gzip.empty()) r.headers.emplace_back("Vary", "Accept-Encoding");
  if (etag_matches(req.header("If-None-Match"), f.etag)) {
    r.status = 304;
    r.content_type.clear();
    return r;
  }
  r.status = 200;
  bool gz = !f.gzip.empty() && accepts_gzip(req.header("Accept-Encoding"));
  if (gz) r.headers.emplace_back("Content-Encoding", "gzip");
  if (req.method() != "HEAD") r.body = gz ? f.gzip : f.body;
  return r;
}

void StaticFiles::register_routes(http::Router& router) const {
  for (const char* pattern : {"/", "/*"}) {
    router.add("GET", pattern, [this](const http::Request& req) { return serve(req); });
    // Other methods on a path no API route has: 404 under the API prefixes (as without the
    // console), 405 elsewhere (the console's files are only read).
    for (const char* method : {"POST", "PUT", "DELETE", "PATCH"}) {
      router.add(method, pattern, [](const http::Request& req) {
        if (is_reserved(req.path())) {
          return http::Response::error(404,
                                       fmt::format("no route for {} {}", req.method(), req.path()));
        }
        auto r = http::Response::error(
            405, fmt::format("{} is not allowed on {}", req.method(), req.path()));
        r.headers.emplace_back("Allow", "GET");
        return r;
      });
    }
  }
}

std::unique_ptr<StaticFiles> register_console_ui(http::Router& router,
                                                 const std::filesystem::path& dir) {
  auto files = StaticFiles::load(dir);
  if (!files) {
    spdlog::warn("web console: {}", files.status().message());
    router.add("GET", "/", [dir](const http::Request&) { return not_built_page(dir); });
    return nullptr;
  }
  spdlog::info("web console: {} files from {}", (*files)->file_count(), dir.string());
  (*files)->register_routes(router);
  return std::move(*files);
}

}  // namespace basalt::api
