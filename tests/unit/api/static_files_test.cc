#include "api/static_files.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "http/content_coding.h"

namespace basalt::api {
namespace {

namespace fs = std::filesystem;

std::string header_of(const http::Response& r, std::string_view name) {
  for (const auto& [n, v] : r.headers) {
    if (n == name) return v;
  }
  return "";
}

class StaticFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device rd;
    base_ = fs::temp_directory_path() / ("basalt_static_" + std::to_string(rd()));
    root_ = base_ / "ui";
    fs::create_directories(root_ / "assets");
    write(root_ / "index.html", "<!doctype html><title>Basalt</title>");
    app_js_ = "console.log('basalt');\n";
    for (int i = 0; i < 200; ++i) app_js_ += "export const x" + std::to_string(i) + " = 1;\n";
    write(root_ / "assets" / "index-Ab12Cd.js", app_js_);
    write(root_ / "assets" / "index-Ef34.css", "body{margin:0}");
    write(root_ / "favicon.svg", "<svg xmlns=\"http://www.w3.org/2000/svg\"/>");
    write(base_ / "secret.txt", "do not serve");
    fs::create_symlink(base_ / "secret.txt", root_ / "linked.txt");
    auto loaded = StaticFiles::load(root_);
    ASSERT_TRUE(loaded) << loaded.status().message();
    files_ = std::move(*loaded);
  }
  void TearDown() override { fs::remove_all(base_); }

  static void write(const fs::path& p, const std::string& s) {
    std::ofstream(p, std::ios::binary) << s;
  }

  http::Response get(std::string_view target, const http::NameValues& headers = {}) {
    return files_->serve(http::Request::make("GET", target, "", headers));
  }

  fs::path base_, root_;
  std::string app_js_;
  std::unique_ptr<StaticFiles> files_;
};

TEST_F(StaticFilesTest, ServesFilesWithTypesAndCacheHeaders) {
  auto index = get("/");
  EXPECT_EQ(index.status, 200);
  EXPECT_EQ(index.content_type, "text/html; charset=utf-8");
  EXPECT_EQ(header_of(index, "Cache-Control"), "no-cache");
  EXPECT_EQ(index.body, "<!doctype html><title>Basalt</title>");

  auto js = get("/assets/index-Ab12Cd.js");
  EXPECT_EQ(js.status, 200);
  EXPECT_EQ(js.content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(header_of(js, "Cache-Control"), "public, max-age=31536000, immutable");
  EXPECT_EQ(js.body, app_js_);

  auto css = get("/assets/index-Ef34.css");
  EXPECT_EQ(css.content_type, "text/css; charset=utf-8");
  auto svg = get("/favicon.svg");
  EXPECT_EQ(svg.content_type, "image/svg+xml");
  EXPECT_EQ(header_of(svg, "Cache-Control"), "public, max-age=3600");
  EXPECT_EQ(header_of(svg, "X-Content-Type-Options"), "nosniff");
}

TEST_F(StaticFilesTest, SinglePageFallbackOnlyForPagePaths) {
  auto page = get("/domino/daily_revenue?run=2026-11-23");
  EXPECT_EQ(page.status, 200);
  EXPECT_EQ(page.body, "<!doctype html><title>Basalt</title>");
  EXPECT_EQ(header_of(page, "Cache-Control"), "no-cache");
  EXPECT_EQ(get("/assets/index-OLD.js").status, 404);  // a stale bundle is a real 404
  EXPECT_EQ(get("/missing.png").status, 404);
  auto api = get("/api/v1/nothing");  // API paths never fall back
  EXPECT_EQ(api.status, 404);
  EXPECT_EQ(api.content_type, "application/json");
  EXPECT_EQ(get("/data/v1/x").status, 404);
}

TEST_F(StaticFilesTest, RefusesPathsLeavingTheFolder) {
  for (const char* target : {"/../secret.txt", "/assets/../../secret.txt", "/%2e%2e/secret.txt",
                             "/assets/%2E%2E/%2E%2E/secret.txt", "/..%2fsecret.txt",
                             "/assets%5c..%5c..%5csecret.txt", "/./index.html", "/a%00b"}) {
    auto r = get(target);
    EXPECT_EQ(r.status, 400) << target;
    EXPECT_EQ(r.body.find("do not serve"), std::string::npos) << target;
  }
  // A symbolic link to a file outside the folder is not served (nor falls back to index.html).
  auto linked = get("/linked.txt");
  EXPECT_EQ(linked.status, 404);
  EXPECT_EQ(linked.body.find("do not serve"), std::string::npos);
}

TEST_F(StaticFilesTest, GzipWhenAcceptedAndConditionalGets) {
  auto plain = get("/assets/index-Ab12Cd.js");
  EXPECT_EQ(header_of(plain, "Content-Encoding"), "");
  EXPECT_EQ(header_of(plain, "Vary"), "Accept-Encoding");
  auto gz = get("/assets/index-Ab12Cd.js", {{"Accept-Encoding", "gzip, deflate, br"}});
  EXPECT_EQ(header_of(gz, "Content-Encoding"), "gzip");
  EXPECT_LT(gz.body.size(), app_js_.size());
  auto decoded = http::decode_body("gzip", gz.body, 1 << 20);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(*decoded, app_js_);
  EXPECT_EQ(header_of(get("/assets/index-Ab12Cd.js", {{"Accept-Encoding", "gzip;q=0"}}),
                      "Content-Encoding"),
            "");

  std::string etag = header_of(get("/"), "ETag");
  ASSERT_FALSE(etag.empty());
  auto not_modified = get("/", {{"If-None-Match", etag}});
  EXPECT_EQ(not_modified.status, 304);
  EXPECT_TRUE(not_modified.body.empty());
  EXPECT_EQ(get("/", {{"If-None-Match", "\"other\""}}).status, 200);
}

TEST_F(StaticFilesTest, RoutesLoseToApiRoutes) {
  http::Router router;
  files_->register_routes(router);
  router.add("GET", "/api/v1/domino/dags/{dag}",
             [](const http::Request&) { return http::Response::json(200, "{}"); });
  auto m = router.match("GET", "/api/v1/domino/dags/x");
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.route->pattern, "/api/v1/domino/dags/{dag}");
  m = router.match("GET", "/explore");
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.route->pattern, "/*");
  m = router.match("POST", "/api/v1/query");
  ASSERT_NE(m.route, nullptr);
  auto r = m.route->sync(http::Request::make("POST", "/api/v1/query", "{}"));
  EXPECT_EQ(r.status, 404);
  m = router.match("POST", "/explore");
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.route->sync(http::Request::make("POST", "/explore")).status, 405);
}

TEST(StaticFilesLoadTest, MissingBuildIsNotFound) {
  auto r = StaticFiles::load("/nonexistent/ui");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("index.html"), std::string::npos);

  http::Router router;
  EXPECT_EQ(register_console_ui(router, "/nonexistent/ui"), nullptr);
  auto m = router.match("GET", "/");
  ASSERT_NE(m.route, nullptr);
  auto page = m.route->sync(http::Request::make("GET", "/"));
  EXPECT_EQ(page.status, 200);
  EXPECT_NE(page.body.find("not built"), std::string::npos);
}

TEST(ContentTypeTest, KnownAndUnknownExtensions) {
  EXPECT_EQ(content_type_for("a/b/app.MJS"), "text/javascript; charset=utf-8");
  EXPECT_EQ(content_type_for("font.woff2"), "font/woff2");
  EXPECT_EQ(content_type_for("x.json"), "application/json");
  EXPECT_EQ(content_type_for("noext"), "application/octet-stream");
  EXPECT_EQ(content_type_for("dir.d/file"), "application/octet-stream");
}

}  // namespace
}  // namespace basalt::api
