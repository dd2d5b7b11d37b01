#include "http/router.h"

#include <gtest/gtest.h>

namespace basalt::http {
namespace {

Response ok(const Request&) { return Response::json(200, "{}"); }

TEST(RouterTest, ExactPathsMethodsAndUnknownPaths) {
  Router router;
  router.add("GET", "/a", ok);
  router.add("POST", "/a", ok);
  router.add("POST", "/b", ok);
  auto m = router.match("GET", "/a");
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.route->pattern, "/a");
  EXPECT_EQ(m.route->method, "GET");
  m = router.match("DELETE", "/b");
  EXPECT_EQ(m.route, nullptr);
  EXPECT_EQ(m.status, 405);
  EXPECT_EQ(m.allow, "POST");
  m = router.match("DELETE", "/a");
  EXPECT_EQ(m.allow, "GET, POST");
  EXPECT_EQ(router.match("GET", "/c").status, 404);
  EXPECT_EQ(router.match("GET", "/a/").status, 404);
}

TEST(RouterTest, ParametersAndPrefixes) {
  Router router;
  router.add("GET", "/api/v1/query/{id}", ok);
  router.add("GET", "/api/v1/query/{id}/rows", ok);
  router.add("GET", "/static/*", ok);
  router.add("GET", "/api/v1/query/latest", ok);
  auto m = router.match("GET", "/api/v1/query/abc%20d");
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.route->pattern, "/api/v1/query/{id}");
  ASSERT_EQ(m.params.size(), 1u);
  EXPECT_EQ(m.params[0].first, "id");
  EXPECT_EQ(m.params[0].second, "abc d");
  m = router.match("GET", "/api/v1/query/latest");
  EXPECT_EQ(m.route->pattern, "/api/v1/query/latest");  // exact wins
  EXPECT_TRUE(m.params.empty());
  m = router.match("GET", "/api/v1/query/7/rows");
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.route->pattern, "/api/v1/query/{id}/rows");
  EXPECT_EQ(m.params[0].second, "7");
  EXPECT_EQ(router.match("GET", "/api/v1/query/").status, 404);
  EXPECT_EQ(router.match("GET", "/api/v1/query/7/rows/x").status, 404);
  m = router.match("GET", "/static/js/app.js");
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.params[0].second, "js/app.js");
  EXPECT_EQ(router.match("POST", "/api/v1/query/7").status, 405);
}

TEST(RouterTest, PrefixPatternsComeLastLongestFirst) {
  Router router;
  router.add("GET", "/*", ok);  // a catch-all added first must not hide later routes
  router.add("GET", "/static/*", ok);
  router.add("GET", "/api/v1/dags/{dag}", ok);
  auto m = router.match("GET", "/api/v1/dags/daily");
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.route->pattern, "/api/v1/dags/{dag}");
  m = router.match("GET", "/static/app.js");
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.route->pattern, "/static/*");
  m = router.match("GET", "/domino/daily");
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.route->pattern, "/*");
  EXPECT_EQ(m.params[0].second, "domino/daily");
}

TEST(RequestTest, QueryHeadersAndPath) {
  Request r = Request::make("GET", "/x/y?a=1&b=hello+world&c=%2F&a=2", "",
                            {{"X-Thing", "v"}});
  EXPECT_EQ(r.path(), "/x/y");
  EXPECT_EQ(r.query("a"), "1");
  EXPECT_EQ(r.query("b"), "hello world");
  EXPECT_EQ(r.query("c"), "/");
  EXPECT_TRUE(r.has_query("c"));
  EXPECT_FALSE(r.has_query("d"));
  EXPECT_EQ(r.query_params().size(), 4u);
  EXPECT_EQ(r.header("x-thing"), "v");
  EXPECT_EQ(r.header("X-THING"), "v");
  EXPECT_EQ(r.header("missing"), "");
}

TEST(ResponseTest, ErrorBodyIsEscapedJson) {
  Response r = Response::error(400, "bad \"x\"\n");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, R"({"success":false,"error":"bad \"x\"\n"})");
}

}  // namespace
}  // namespace basalt::http
