#include "enrich/user_agent.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace basalt::enrich {
namespace {

// uap-core's own test cases, shipped by the same Debian package as the regexes.
constexpr const char* kUapTests = "/usr/share/uap-core/tests";

class UserAgentTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto loaded = UserAgentParser::load();
    ASSERT_TRUE(loaded.is_ok()) << loaded.status().to_string()
                                << " (install the Debian package uap-core)";
    parser_ = std::move(loaded).value().release();
  }
  static void TearDownTestSuite() {
    delete parser_;  // NOLINT: the suite-wide parser, created once in SetUpTestSuite
    parser_ = nullptr;
  }
  static const UserAgentParser& parser() { return *parser_; }

 private:
  static UserAgentParser* parser_;
};
UserAgentParser* UserAgentTest::parser_ = nullptr;

TEST_F(UserAgentTest, CompilesTheWholeUapCoreFile) {
  const UserAgentRuleStats& stats = parser().rule_stats();
  for (const std::string& s : stats.skipped) ADD_FAILURE() << "skipped: " << s;
  EXPECT_GT(stats.user_agent_rules, 300u);
  EXPECT_GT(stats.os_rules, 100u);
  EXPECT_GT(stats.device_rules, 400u);
}

TEST_F(UserAgentTest, ChromeOnWindows) {
  const UserAgentInfo ua = parser().parse_uncached(
      "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chrome/120.0.6099.109 Safari/537.36");
  EXPECT_EQ(ua.browser_family, "Chrome");
  EXPECT_EQ(ua.browser_version(), "120.0.6099");
  EXPECT_EQ(ua.os_family, "Windows");
  EXPECT_EQ(ua.os_version(), "10");
  EXPECT_EQ(ua.device_family, "Other");
  EXPECT_EQ(ua.device_brand, "");
}

TEST_F(UserAgentTest, SafariOnIphone) {
  const UserAgentInfo ua = parser().parse_uncached(
      "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
      "like Gecko) Version/17.1.2 Mobile/15E148 Safari/604.1");
  EXPECT_EQ(ua.browser_family, "Mobile Safari");
  EXPECT_EQ(ua.browser_version(), "17.1.2");
  EXPECT_EQ(ua.os_family, "iOS");
  EXPECT_EQ(ua.os_major, "17");
  EXPECT_EQ(ua.os_minor, "1");
  EXPECT_EQ(ua.os_patch, "2");
  EXPECT_EQ(ua.device_family, "iPhone");
  EXPECT_EQ(ua.device_brand, "Apple");
  EXPECT_EQ(ua.device_model, "iPhone");
}

TEST_F(UserAgentTest, FirefoxOnUbuntu) {
  const UserAgentInfo ua = parser().parse_uncached(
      "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0");
  EXPECT_EQ(ua.browser_family, "Firefox");
  EXPECT_EQ(ua.browser_major, "121");
  EXPECT_EQ(ua.browser_minor, "0");
  EXPECT_EQ(ua.browser_patch, "");
  EXPECT_EQ(ua.os_family, "Ubuntu");
  EXPECT_EQ(ua.device_family, "Other");
}

TEST_F(UserAgentTest, AndroidAppWebView) {
  const UserAgentInfo ua = parser().parse_uncached(
      "Mozilla/5.0 (Linux; Android 13; SM-S911B Build/TP1A.220624.014; wv) AppleWebKit/537.36 "
      "(KHTML, like Gecko) Version/4.0 Chrome/119.0.6045.163 Mobile Safari/537.36");
  EXPECT_EQ(ua.browser_family, "Chrome Mobile WebView");
  EXPECT_EQ(ua.browser_version(), "119.0.6045");
  EXPECT_EQ(ua.os_family, "Android");
  EXPECT_EQ(ua.os_version(), "13");
  EXPECT_EQ(ua.device_family, "Samsung SM-S911B");
  EXPECT_EQ(ua.device_brand, "Samsung");
  EXPECT_EQ(ua.device_model, "SM-S911B");
}

TEST_F(UserAgentTest, FacebookInAppBrowserOnIpad) {
  const UserAgentInfo ua = parser().parse_uncached(
      "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
      "Mobile/15E148 [FBAN/FBIOS;FBAV/441.0.0.23.105;FBBV/537339581;FBDV/iPad13,1;FBMD/iPad;"
      "FBSN/iPadOS;FBSV/16.6;FBSS/2;FBID/tablet;FBLC/en_US;FBOP/5]");
  EXPECT_EQ(ua.browser_family, "Facebook");
  EXPECT_EQ(ua.browser_major, "441");
  EXPECT_EQ(ua.os_family, "iOS");
  EXPECT_EQ(ua.os_version(), "16.6");
  EXPECT_EQ(ua.device_family, "iPad");
  EXPECT_EQ(ua.device_brand, "Apple");
}

TEST_F(UserAgentTest, Curl) {
  const UserAgentInfo ua = parser().parse_uncached("curl/8.4.0");
  EXPECT_EQ(ua.browser_family, "curl");
  EXPECT_EQ(ua.browser_version(), "8.4.0");
  EXPECT_EQ(ua.os_family, "Other");
  EXPECT_EQ(ua.device_family, "Other");
}

TEST_F(UserAgentTest, Googlebot) {
  const UserAgentInfo ua = parser().parse_uncached(
      "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)");
  EXPECT_EQ(ua.browser_family, "Googlebot");
  EXPECT_EQ(ua.browser_version(), "2.1");
  EXPECT_EQ(ua.device_family, "Spider");
  EXPECT_EQ(ua.device_brand, "Spider");
  EXPECT_EQ(ua.device_model, "Desktop");
}

TEST_F(UserAgentTest, CaseInsensitiveDeviceRule) {
  // The bot rule of device_parsers carries regex_flag 'i': a lower-case "bot" still matches.
  const UserAgentInfo ua = parser().parse_uncached("my-crawler-bot/1.0 (+https://example.com)");
  EXPECT_EQ(ua.device_family, "Spider");
}

TEST_F(UserAgentTest, EmptyAndUnknownAreOther) {
  EXPECT_EQ(parser().parse_uncached(""), UserAgentInfo{});
  EXPECT_EQ(*parser().parse(""), UserAgentInfo{});
  const UserAgentInfo junk = parser().parse_uncached("\x01\xff\xfe zzz");
  EXPECT_EQ(junk.browser_family, "Other");
  EXPECT_EQ(junk.os_family, "Other");
  EXPECT_EQ(junk.device_family, "Other");
  EXPECT_EQ(junk.browser_version(), "");
}

TEST_F(UserAgentTest, VeryLongUserAgentIsCut) {
  std::string ua = "curl/8.4.0 " + std::string(100'000, 'a');
  EXPECT_EQ(parser().parse(ua)->browser_family, "curl");
}

// Runs one uap-core test file; returns the number of cases and appends mismatches.
struct Conformance {
  size_t cases = 0;
  std::vector<std::string> mismatches;
};

std::string field(const YAML::Node& c, const char* key) {
  const YAML::Node n = c[key];
  return n && !n.IsNull() ? n.as<std::string>() : std::string();
}

template <typename Check>
Conformance run_uap_tests(const std::string& file, size_t stride, Check check) {
  Conformance out;
  const YAML::Node root = YAML::LoadFile(file);
  const YAML::Node cases = root["test_cases"];
  for (size_t i = 0; i < cases.size(); i += stride) {
    ++out.cases;
    const std::string ua = field(cases[i], "user_agent_string");
    std::string got = check(cases[i], ua);
    if (!got.empty()) out.mismatches.push_back(ua + " → " + got);
  }
  return out;
}

std::string compare(const char* what, const std::string& got, const std::string& want) {
  return got == want ? std::string() : std::string(what) + " '" + got + "' != '" + want + "' ";
}

void expect_conformant(const Conformance& c, const char* file) {
  EXPECT_GT(c.cases, 100u) << file;
  for (size_t i = 0; i < c.mismatches.size() && i < 20; ++i) {
    ADD_FAILURE() << file << ": " << c.mismatches[i];
  }
  EXPECT_EQ(c.mismatches.size(), 0u) << "of " << c.cases << " cases in " << file;
}

TEST_F(UserAgentTest, UapCoreBrowserTestCases) {
  const std::string file = std::string(kUapTests) + "/test_ua.yaml";
  ASSERT_TRUE(std::filesystem::exists(file)) << file << " missing (Debian package uap-core)";
  const Conformance c = run_uap_tests(file, 1, [&](const YAML::Node& t, const std::string& ua) {
    const UserAgentInfo got = parser().parse_uncached(ua);
    return compare("family", got.browser_family, field(t, "family")) +
           compare("major", got.browser_major, field(t, "major")) +
           compare("minor", got.browser_minor, field(t, "minor")) +
           compare("patch", got.browser_patch, field(t, "patch"));
  });
  expect_conformant(c, "test_ua.yaml");
}

TEST_F(UserAgentTest, UapCoreOsTestCases) {
  const std::string file = std::string(kUapTests) + "/test_os.yaml";
  ASSERT_TRUE(std::filesystem::exists(file)) << file << " missing (Debian package uap-core)";
  const Conformance c = run_uap_tests(file, 1, [&](const YAML::Node& t, const std::string& ua) {
    const UserAgentInfo got = parser().parse_uncached(ua);
    return compare("family", got.os_family, field(t, "family")) +
           compare("major", got.os_major, field(t, "major")) +
           compare("minor", got.os_minor, field(t, "minor")) +
           compare("patch", got.os_patch, field(t, "patch")) +
           compare("patch_minor", got.os_patch_minor, field(t, "patch_minor"));
  });
  expect_conformant(c, "test_os.yaml");
}

TEST_F(UserAgentTest, UapCoreDeviceTestCases) {
  const std::string file = std::string(kUapTests) + "/test_device.yaml";
  ASSERT_TRUE(std::filesystem::exists(file)) << file << " missing (Debian package uap-core)";
  // Every 7th of the ~16,000 cases keeps the test short on a shared machine.
  const Conformance c = run_uap_tests(file, 7, [&](const YAML::Node& t, const std::string& ua) {
    const UserAgentInfo got = parser().parse_uncached(ua);
    return compare("family", got.device_family, field(t, "family")) +
           compare("brand", got.device_brand, field(t, "brand")) +
           compare("model", got.device_model, field(t, "model"));
  });
  expect_conformant(c, "test_device.yaml");
}

TEST_F(UserAgentTest, RuleByRuleMatchingAgreesWithThePrefilter) {
  const std::string file = std::string(kUapTests) + "/test_ua.yaml";
  ASSERT_TRUE(std::filesystem::exists(file)) << file << " missing (Debian package uap-core)";
  auto sequential = UserAgentParser::load({.cache_capacity = 0, .prefilter = false});
  ASSERT_TRUE(sequential.is_ok());
  const YAML::Node cases = YAML::LoadFile(file)["test_cases"];
  size_t compared = 0;
  for (size_t i = 0; i < cases.size(); i += 5) {
    const std::string ua = field(cases[i], "user_agent_string");
    EXPECT_EQ((*sequential)->parse_uncached(ua), parser().parse_uncached(ua)) << ua;
    ++compared;
  }
  EXPECT_GT(compared, 100u);
}

TEST_F(UserAgentTest, CacheHitsReturnTheSameResult) {
  auto loaded = UserAgentParser::load({.cache_capacity = 4, .cache_shards = 1});
  ASSERT_TRUE(loaded.is_ok());
  const UserAgentParser& p = **loaded;
  auto first = p.parse("curl/8.4.0");
  auto second = p.parse("curl/8.4.0");
  EXPECT_EQ(first.get(), second.get());  // the cached object itself
  EXPECT_EQ(p.cache_stats().hits, 1u);
  EXPECT_EQ(p.cache_stats().misses, 1u);
  // The cache is bounded: older entries are evicted, the newest stay.
  for (int i = 0; i < 10; ++i) p.parse("curl/8." + std::to_string(i));
  EXPECT_EQ(p.cache_stats().entries, 4u);
  EXPECT_EQ(p.parse("curl/8.9")->browser_version(), "8.9");
  EXPECT_EQ(p.cache_stats().hits, 2u);
  // Evicted: parsed again, still right.
  EXPECT_EQ(p.parse("curl/8.4.0")->browser_version(), "8.4.0");
  EXPECT_EQ(p.cache_stats().misses, 12u);
}

TEST_F(UserAgentTest, ConcurrentParsesAgreeWithUncached) {
  const std::vector<std::string> uas = {
      "curl/8.4.0",
      "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
      "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "Wget/1.21"};
  auto loaded = UserAgentParser::load({.cache_capacity = 3, .cache_shards = 2});
  ASSERT_TRUE(loaded.is_ok());
  const UserAgentParser& p = **loaded;
  std::vector<UserAgentInfo> want;
  for (const auto& ua : uas) want.push_back(p.parse_uncached(ua));
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 300; ++i) {
        const size_t k = static_cast<size_t>(i + t) % uas.size();
        if (*p.parse(uas[k]) != want[k]) ++wrong;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST(UserAgentLoadTest, MissingFileNamesThePackage) {
  auto r = UserAgentParser::load({.regexes_path = "/nonexistent/regexes.yaml"});
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("uap-core"), std::string::npos);
}

std::string write_temp(const std::string& name, const std::string& text) {
  const auto path =
      std::filesystem::temp_directory_path() / (name + "-" + std::to_string(::getpid()) + ".yaml");
  std::ofstream(path) << text;
  return path.string();
}

TEST(UserAgentLoadTest, BadFilesGiveClearErrors) {
  const std::string not_yaml = write_temp("ua-bad", "user_agent_parsers: [\n  - regex: 'a'\n");
  auto r = UserAgentParser::load({.regexes_path = not_yaml});
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find(not_yaml), std::string::npos) << r.status().message();

  const std::string no_list = write_temp("ua-nolist", "user_agent_parsers: []\nos_parsers: []\n");
  r = UserAgentParser::load({.regexes_path = no_list});
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("device_parsers"), std::string::npos) << r.status().message();

  const std::string no_regex =
      write_temp("ua-noregex",
                 "user_agent_parsers:\n  - family_replacement: 'x'\nos_parsers: []\n"
                 "device_parsers: []\n");
  r = UserAgentParser::load({.regexes_path = no_regex});
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("user_agent_parsers[0] (line 2)"), std::string::npos)
      << r.status().message();
  for (const auto& f : {not_yaml, no_list, no_regex}) std::filesystem::remove(f);
}

TEST(UserAgentLoadTest, ReplacementsAndSkippedRegexes) {
  // A small rules file: $N substitution in every kind of replacement, defaults from groups,
  // and a regex RE2 refuses (a backreference), skipped and reported.
  const std::string file = write_temp("ua-rules", R"(user_agent_parsers:
  - regex: '(\w+)Bot/(\d+)\.(\d+)'
    family_replacement: 'Bot of $1'
    v2_replacement: '$3$3'
  - regex: '(a)\1'
os_parsers:
  - regex: 'Os(\d+)_(\d+)'
    os_replacement: 'Robot OS'
    os_v1_replacement: '$2'
    os_v2_replacement: '$1'
device_parsers:
  - regex: '(?:Dev) (\w+)-(\w+)'
    device_replacement: '$1 $2 '
    brand_replacement: '$1'
  - regex: 'lower'
    regex_flag: 'i'
    device_replacement: 'Lower'
    model_replacement: ' '
)");
  auto r = UserAgentParser::load({.regexes_path = file});
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  const UserAgentParser& p = **r;
  ASSERT_EQ(p.rule_stats().skipped.size(), 1u);
  EXPECT_NE(p.rule_stats().skipped[0].find("user_agent_parsers[1]"), std::string::npos);
  EXPECT_EQ(p.rule_stats().user_agent_rules, 1u);

  UserAgentInfo ua = p.parse_uncached("SkyBot/3.14 Os7_9 Dev Acme-X1");
  EXPECT_EQ(ua.browser_family, "Bot of Sky");
  EXPECT_EQ(ua.browser_major, "3");
  EXPECT_EQ(ua.browser_minor, "1414");
  EXPECT_EQ(ua.os_family, "Robot OS");
  EXPECT_EQ(ua.os_major, "9");
  EXPECT_EQ(ua.os_minor, "7");
  EXPECT_EQ(ua.device_family, "Acme X1");  // trimmed
  EXPECT_EQ(ua.device_brand, "Acme");
  EXPECT_EQ(ua.device_model, "Acme");  // model defaults to the first group

  ua = p.parse_uncached("LOWER case");
  EXPECT_EQ(ua.device_family, "Lower");
  EXPECT_EQ(ua.device_model, "");  // a blank replacement is unknown
  std::filesystem::remove(file);
}

}  // namespace
}  // namespace basalt::enrich
