#include "enrich/geo_ip.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace basalt::enrich {
namespace {

namespace fs = std::filesystem;

// Builds the test database with tests/unit/enrich/make_test_mmdb.pl once per test binary.
class GeoIpTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(fs::temp_directory_path() /  // NOLINT: suite-wide, freed in TearDown
                        ("basalt-geoip-" + std::to_string(::getpid())));
    fs::create_directories(*dir_);
    const fs::path out = *dir_ / "test.mmdb";
    const fs::path log = *dir_ / "perl.log";
    const std::string command = "perl '" BASALT_ENRICH_TEST_DIR "/make_test_mmdb.pl' '" +
                                out.string() + "' > '" + log.string() + "' 2>&1";
    const int rc = std::system(command.c_str());
    std::ifstream in(log);
    const std::string output((std::istreambuf_iterator<char>(in)), {});
    ASSERT_EQ(rc, 0) << "building the test GeoIP database failed (Debian packages perl and "
                        "libmaxmind-db-writer-perl are needed): "
                     << output;
    auto geo = GeoIp::open(out.string());
    ASSERT_TRUE(geo.is_ok()) << geo.status().to_string();
    geo_ = new GeoIp(std::move(geo).value());  // NOLINT: suite-wide, freed in TearDown
  }
  static void TearDownTestSuite() {
    delete geo_;  // NOLINT
    geo_ = nullptr;
    fs::remove_all(*dir_);
    delete dir_;  // NOLINT
    dir_ = nullptr;
  }
  static const GeoIp& geo() { return *geo_; }
  static const fs::path& dir() { return *dir_; }

 private:
  static GeoIp* geo_;
  static fs::path* dir_;
};
GeoIp* GeoIpTest::geo_ = nullptr;
fs::path* GeoIpTest::dir_ = nullptr;

GeoInfo must_find(const GeoIp& geo, std::string_view ip) {
  auto r = geo.lookup(ip);
  EXPECT_TRUE(r.is_ok()) << r.status().to_string();
  if (!r.is_ok() || !r->has_value()) {
    ADD_FAILURE() << ip << " not found";
    return {};
  }
  return **r;
}

TEST_F(GeoIpTest, OpensTheDatabase) {
  EXPECT_TRUE(geo().enabled());
  EXPECT_EQ(geo().database_type(), "Basalt-Test-City");
}

TEST_F(GeoIpTest, Ipv4CountryRegionCity) {
  EXPECT_EQ(must_find(geo(), "203.0.113.7"), (GeoInfo{"US", "California", "CA", "San Francisco"}));
  EXPECT_EQ(must_find(geo(), "198.51.100.1"), (GeoInfo{"DE", "Bavaria", "BY", "Munich"}));
  // The neighbouring network has a country only.
  EXPECT_EQ(must_find(geo(), "198.51.100.200"), (GeoInfo{"JP", "", "", ""}));
}

TEST_F(GeoIpTest, Ipv6AndMappedIpv4) {
  EXPECT_EQ(must_find(geo(), "2001:db8:1::17"), (GeoInfo{"FR", "Île-de-France", "IDF", "Paris"}));
  EXPECT_EQ(must_find(geo(), "2001:DB8:1:ffff::1").city, "Paris");
  EXPECT_EQ(must_find(geo(), "::ffff:203.0.113.7").country_iso, "US");
}

TEST_F(GeoIpTest, UnknownAddressesFindNothing) {
  for (const char* ip : {"8.8.8.8", "203.0.114.1", "2001:db8:2::1", "::1", "192.0.2.1"}) {
    auto r = geo().lookup(ip);
    ASSERT_TRUE(r.is_ok()) << ip << ": " << r.status().to_string();
    EXPECT_FALSE(r->has_value()) << ip;  // 192.0.2.1: a record without place fields
  }
}

TEST_F(GeoIpTest, BadAddressesAreErrors) {
  for (const char* ip : {"", "not-an-ip", "203.0.113.7:8080", "300.1.1.1", "1.2.3",
                         "2001:db8::1::2", "203.0.113.7 "}) {
    auto r = geo().lookup(ip);
    ASSERT_FALSE(r.is_ok()) << "'" << ip << "'";
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find("is not an IP address"), std::string::npos);
  }
  EXPECT_FALSE(geo().lookup(std::string(500, '1')).is_ok());
}

TEST_F(GeoIpTest, ConcurrentLookups) {
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        auto r = geo().lookup(i % 2 ? "203.0.113.9" : "2001:db8:1::9");
        if (!r.is_ok() || !r->has_value() || (*r)->city != (i % 2 ? "San Francisco" : "Paris")) {
          ++wrong;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST_F(GeoIpTest, Ipv4OnlyDatabase) {
  const fs::path out = dir() / "v4.mmdb";
  const std::string command =
      "perl '" BASALT_ENRICH_TEST_DIR "/make_test_mmdb.pl' '" + out.string() + "' 4";
  ASSERT_EQ(std::system(command.c_str()), 0) << "libmaxmind-db-writer-perl is needed";
  auto v4 = GeoIp::open(out.string());
  ASSERT_TRUE(v4.is_ok()) << v4.status().to_string();
  EXPECT_EQ(must_find(*v4, "203.0.113.7").city, "San Francisco");
  // A dual-stack socket's form of an IPv4 client is found as that IPv4 address.
  EXPECT_EQ(must_find(*v4, "::ffff:198.51.100.1").city, "Munich");
  // Other IPv6 addresses cannot be in an IPv4 database: nothing, not an error.
  auto r = v4->lookup("2001:db8:1::17");
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_FALSE(r->has_value());
}

TEST_F(GeoIpTest, NoDatabaseConfiguredFindsNothing) {
  auto geo = GeoIp::open("");
  ASSERT_TRUE(geo.is_ok());
  EXPECT_FALSE(geo->enabled());
  EXPECT_EQ(geo->database_type(), "");
  auto r = geo->lookup("203.0.113.7");
  ASSERT_TRUE(r.is_ok());
  EXPECT_FALSE(r->has_value());
  EXPECT_FALSE(GeoIp().lookup("203.0.113.7")->has_value());
}

TEST_F(GeoIpTest, BadFilesAreClearErrors) {
  auto missing = GeoIp::open((dir() / "missing.mmdb").string());
  ASSERT_FALSE(missing.is_ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("missing.mmdb"), std::string::npos);

  const fs::path junk = dir() / "junk.mmdb";
  std::ofstream(junk) << "this is not a MaxMind database\n";
  auto bad = GeoIp::open(junk.string());
  ASSERT_FALSE(bad.is_ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("is not a valid MaxMind DB"), std::string::npos)
      << bad.status().message();

  // A real database cut short loses its metadata section: refused the same way.
  std::ifstream in(dir() / "test.mmdb", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  const fs::path cut = dir() / "cut.mmdb";
  std::ofstream(cut, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  auto truncated = GeoIp::open(cut.string());
  ASSERT_FALSE(truncated.is_ok());
  EXPECT_EQ(truncated.status().code(), StatusCode::kInvalidArgument);

  auto directory = GeoIp::open(dir().string());
  EXPECT_EQ(directory.status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace basalt::enrich
