#include "gen/gen_command.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "gen/game_event_generator.h"

namespace basalt::gen {
namespace {

namespace fs = std::filesystem;

class GenCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("gen_command_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::vector<std::string> lines_of(const fs::path& path) {
    std::ifstream in(path);
    std::vector<std::string> out;
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
  }

  fs::path dir_;
  ManualClock clock_{*parse_iso8601("2024-05-15T00:00:00Z")};
};

TEST_F(GenCommandTest, WritesOneBodyPerLineAndASummary) {
  GenCommandOptions o;
  o.users = 50;
  o.days = 3;
  o.batch_size = 20;
  o.out = (dir_ / "events.ndjson").string();
  std::ostringstream log;
  ASSERT_TRUE(run_gen_command(o, clock_, log).is_ok());
  const auto lines = lines_of(o.out);
  ASSERT_GT(lines.size(), 1u);
  size_t events = 0;
  for (const std::string& line : lines) {
    const auto body = nlohmann::json::parse(line);
    events += body.at("batch").size();
  }
  EXPECT_NE(log.str().find(std::to_string(lines.size()) + " bodies, " + std::to_string(events) +
                           " events"),
            std::string::npos)
      << log.str();
  EXPECT_NE(log.str().find("events/s"), std::string::npos);
  // The default end is the clock's now: the same file again.
  o.out = (dir_ / "again.ndjson").string();
  ASSERT_TRUE(run_gen_command(o, clock_, log).is_ok());
  EXPECT_EQ(lines_of(o.out), lines);
}

TEST_F(GenCommandTest, RejectsBadOptionsWithOneLineMessages) {
  std::ostringstream log;
  GenCommandOptions none;
  Status s = run_gen_command(none, clock_, log);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("--out"), std::string::npos);

  GenCommandOptions both;
  both.out = "-";
  both.post_url = "http://127.0.0.1:1";
  both.write_key = "k";
  EXPECT_EQ(run_gen_command(both, clock_, log).code(), StatusCode::kInvalidArgument);

  GenCommandOptions no_key;
  no_key.post_url = "http://127.0.0.1:1";
  s = run_gen_command(no_key, clock_, log);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("--write-key"), std::string::npos);

  GenCommandOptions bad_end;
  bad_end.out = (dir_ / "x").string();
  bad_end.end = "last tuesday";
  s = run_gen_command(bad_end, clock_, log);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("last tuesday"), std::string::npos);

  GenCommandOptions unwritable;
  unwritable.out = (dir_ / "missing" / "dir" / "x").string();
  s = run_gen_command(unwritable, clock_, log);
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_EQ(s.message().find('\n'), std::string::npos);
  EXPECT_TRUE(log.str().empty()) << "no summary after a failure";
}

TEST_F(GenCommandTest, PostToAClosedPortFails) {
  GenCommandOptions o;
  o.users = 5;
  o.days = 1;
  o.post_url = "http://127.0.0.1:1";  // nothing listens on port 1
  o.write_key = "k";
  std::ostringstream log;
  const Status s = run_gen_command(o, clock_, log);
  EXPECT_FALSE(s.is_ok());
  EXPECT_NE(s.code(), StatusCode::kInvalidArgument) << s.to_string();
}

TEST_F(GenCommandTest, SubcommandParsesFlagsAndSetsTheExitCode) {
  CLI::App app("test");
  int exit_code = -1;
  add_gen_command(app, exit_code);
  const std::string out = (dir_ / "cli.ndjson").string();
  app.parse("gen --users 10 --days 2 --batch-size 2 --end 2024-05-15T00:00:00Z --out " + out);
  EXPECT_EQ(exit_code, 0);
  const auto lines = lines_of(out);
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(nlohmann::json::parse(lines[0]).at("batch").size(), 2u);

  CLI::App app2("test");
  int exit_code2 = -1;
  add_gen_command(app2, exit_code2);
  app2.parse("gen --out " + out + " --end soon");
  EXPECT_EQ(exit_code2, exit_code_of(StatusCode::kInvalidArgument));

  CLI::App app3("test");
  int exit_code3 = -1;
  add_gen_command(app3, exit_code3);
  EXPECT_THROW(app3.parse("gen --out - --users 0"), CLI::ValidationError);
}

}  // namespace
}  // namespace basalt::gen
