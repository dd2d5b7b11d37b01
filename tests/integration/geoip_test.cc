// GeoIP end to end with the real binary: a tiny .mmdb written by Debian's
// libmaxmind-db-writer-perl (tests/unit/enrich/make_test_mmdb.pl), configured in a project's
// basalt.yaml; events sent over HTTP through a trusted proxy's X-Forwarded-For, through an
// untrusted hop of the chain and directly; country, region and city asserted in the warehouse
// rows and in POST /v1/validate's enriched events; nothing when no database is configured.

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <fstream>

#include "integration/basalt_process.h"

namespace basalt::testing {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// Networks of the test database: 203.0.113.0/24 US/California/San Francisco,
// 198.51.100.0/25 DE/Bavaria/Munich, 2001:db8:1::/48 FR/Île-de-France/Paris.
void write_mmdb(const fs::path& out) {
  fs::create_directories(out.parent_path());
  const std::string command = "perl '" BASALT_ENRICH_TEST_DIR "/make_test_mmdb.pl' '" +
                              out.string() + "' 2>&1";
  ASSERT_EQ(std::system(command.c_str()), 0)
      << command << " failed: is libmaxmind-db-writer-perl installed (scripts/setup.sh)?";
}

void write_project(const fs::path& dir, bool with_database) {
  fs::create_directories(dir);
  std::ofstream(dir / "basalt.yaml")
      << "project: geo\n"
         "sources:\n"
         "  - {name: app, write_key: app-key}\n"
         "api: {admin_token: test-admin}\n"
         "loader: {batch_interval: 50ms}\n"
         "ingest: {trusted_proxies: [\"127.0.0.1\"]}\n"
      << (with_database ? "enrich: {geoip_database: geo/test.mmdb}\n" : "");
  if (with_database) write_mmdb(dir / "geo" / "test.mmdb");
}

http::ClientResponse track(const BasaltServer& s, const std::string& path,
                           const std::string& user, const std::string& forwarded_for) {
  std::vector<std::pair<std::string, std::string>> headers = {
      {"Authorization", basic_auth("app-key")}};
  if (!forwarded_for.empty()) headers.emplace_back("X-Forwarded-For", forwarded_for);
  std::string event = R"({"type":"track","userId":")" + user + R"(","event":"login"})";
  return http_request(s.ingest_url(), "POST", path,
                      path == "/v1/validate" ? R"({"batch":[)" + event + "]}" : event, headers);
}

// country|region|city|ip of each user's event in the warehouse, ordered by user.
std::string rows(BasaltServer& s) {
  auto r = run_basalt({"sql", "--api", s.api_url(), "--format", "csv",
                       "SELECT user_id, coalesce(country, '') AS country, coalesce(region, '') AS "
                       "region, coalesce(city, '') AS city, ip FROM events ORDER BY user_id"},
                      {"BASALT_TOKEN=test-admin"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.out;
}

TEST(GeoIp, CountryRegionAndCityFromTheClientIpInRowsAndValidate) {
  TempDir dir;
  write_project(dir.path() / "project", true);
  BasaltServer server(dir.path() / "project", dir.path() / "data");
  server.start();
  EXPECT_NE(server.log().find("GeoIP: "), std::string::npos) << server.log();

  // Through the trusted proxy (the test connects from 127.0.0.1): the forwarded address.
  EXPECT_EQ(track(server, "/v1/track", "u1", "203.0.113.7").status, 200);
  // An untrusted hop in the chain: the address it claims to forward for is not believed.
  EXPECT_EQ(track(server, "/v1/track", "u2", "203.0.113.9, 198.51.100.7").status, 200);
  // IPv6, and a name outside ASCII.
  EXPECT_EQ(track(server, "/v1/track", "u3", "2001:db8:1::5").status, 200);
  // Directly from 127.0.0.1, which is not in the database: no place.
  EXPECT_EQ(track(server, "/v1/track", "u4", "").status, 200);
  server.wait_for_int("SELECT count(*) FROM events", 4);
  EXPECT_EQ(rows(server),
            "user_id,country,region,city,ip\n"
            "u1,US,California,San Francisco,203.0.113.7\n"
            "u2,DE,Bavaria,Munich,198.51.100.7\n"
            "u3,FR,Île-de-France,Paris,2001:db8:1::5\n"
            "u4,,,,127.0.0.1\n");

  // /v1/validate shows the same enrichment, writing nothing.
  auto v = track(server, "/v1/validate", "u5", "203.0.113.7");
  ASSERT_EQ(v.status, 200) << v.body;
  json event = json::parse(v.body)["results"][0]["event"];
  EXPECT_EQ(event["country"], "US") << v.body;
  EXPECT_EQ(event["region"], "California");
  EXPECT_EQ(event["city"], "San Francisco");
  EXPECT_EQ(event["ip"], "203.0.113.7");
  v = track(server, "/v1/validate", "u5", "203.0.113.9, 198.51.100.7");
  EXPECT_EQ(json::parse(v.body)["results"][0]["event"]["city"], "Munich") << v.body;
  server.wait_until_loaded();
  EXPECT_EQ(server.sql_int("SELECT count(*) FROM events"), 4);
}

TEST(GeoIp, NoDatabaseConfiguredGivesNoPlace) {
  TempDir dir;
  write_project(dir.path() / "project", false);
  BasaltServer server(dir.path() / "project", dir.path() / "data");
  server.start();
  EXPECT_EQ(server.log().find("GeoIP: "), std::string::npos) << server.log();
  EXPECT_EQ(track(server, "/v1/track", "u1", "203.0.113.7").status, 200);
  server.wait_for_int("SELECT count(*) FROM events", 1);
  EXPECT_EQ(rows(server),
            "user_id,country,region,city,ip\n"
            "u1,,,,203.0.113.7\n");
  auto v = track(server, "/v1/validate", "u2", "203.0.113.7");
  ASSERT_EQ(v.status, 200) << v.body;
  json event = json::parse(v.body)["results"][0]["event"];
  EXPECT_EQ(event["ip"], "203.0.113.7") << v.body;
  EXPECT_FALSE(event.contains("country")) << v.body;  // absent: nothing found
  EXPECT_FALSE(event.contains("region"));
  EXPECT_FALSE(event.contains("city"));
}

TEST(GeoIp, AMissingDatabaseRefusesToStart) {
  TempDir dir;
  fs::create_directories(dir.path() / "project");
  std::ofstream(dir.path() / "project" / "basalt.yaml")
      << "project: geo\nsources:\n  - {name: app, write_key: app-key}\n"
         "enrich: {geoip_database: geo/none.mmdb}\n";
  auto r = run_basalt({"up", (dir.path() / "project").string(), "--data",
                       (dir.path() / "data").string(), "--ingest-port", "0", "--api-port", "0"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("none.mmdb"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace basalt::testing
