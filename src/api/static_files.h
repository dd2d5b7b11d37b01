#pragma once
// Serves the built web console (ui/, built by Vite) on the console port: every file of the build
// folder with its content type, cache headers (hashed files under assets/ immutable for a year,
// index.html revalidated on every load) and the single-page-app fallback (a path that names no
// file and looks like a page, e.g. /domino/daily_revenue, answers index.html so the browser-side
// router shows it). Paths under /api/, /data/ and other reserved prefixes never fall back: an
// unknown API route stays a JSON 404.
//
// The folder is read into memory once at start (the console is a few MB), with a gzip copy of
// the compressible files, so requests never touch the disk and a path can only name a file that
// was in the folder: "..", backslashes, NUL and encoded slashes are refused with 400 before any
// lookup, and symbolic links out of the folder are not followed.
//
// Thread safety: immutable after load(); serve() may be called from any thread.

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"
#include "http/request.h"
#include "http/router.h"

namespace basalt::api {

// The MIME type for a file name's extension ("app.js" → "text/javascript; charset=utf-8");
// "application/octet-stream" for unknown ones.
std::string_view content_type_for(std::string_view file_name);

// Where `basalt up` looks for the built console: $BASALT_UI_DIR when set, else the folder "ui"
// beside the running executable (the build writes build/ui next to build/basalt).
std::filesystem::path default_ui_dir();

class StaticFiles {
 public:
  struct File {
    std::string content_type;
    std::string cache_control;
    std::string etag;  // quoted strong validator of the content
    std::string body;
    std::string gzip;  // empty when not worth compressing
  };

  // Reads every regular file under `root`. Errors: kNotFound when `root` or its index.html is
  // missing (the console was not built), kUnavailable on read errors.
  static Result<std::unique_ptr<StaticFiles>> load(const std::filesystem::path& root);

  // The response for a GET of `req`: 200 with the file, 304 when If-None-Match matches,
  // 400 for a path that tries to leave the folder, 404 for a missing file (or reserved prefix).
  http::Response serve(const http::Request& req) const;

  // Adds routes "/" and "/*" (a prefix pattern loses to every exact or parameter route, added
  // before or after, so the API keeps its own paths). GET serves files; other methods answer
  // 404 under the API prefixes and 405 elsewhere.
  void register_routes(http::Router& router) const;

  size_t file_count() const { return files_.size(); }
  const std::filesystem::path& root() const { return root_; }

 private:
  explicit StaticFiles(std::filesystem::path root) : root_(std::move(root)) {}

  std::filesystem::path root_;
  std::map<std::string, File, std::less<>> files_;  // key: "/index.html", "/assets/x.js"
};

// Registers the console at `dir` on `router`, or — when it was not built — a "/" page saying
// how to build it. Returns the loaded files (keep them alive as long as the router) or null.
std::unique_ptr<StaticFiles> register_console_ui(http::Router& router,
                                                 const std::filesystem::path& dir);

}  // namespace basalt::api
