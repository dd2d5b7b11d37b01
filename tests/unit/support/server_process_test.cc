// The server harnesses of tests/support/: a test process killed outright (SIGKILL, as a CTest
// timeout or a crash does) leaves no server running, and its folders go at the next start.

#include "support/server_process.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "support/clickhouse_server.h"
#include "support/postgres_server.h"
#include "support/redis_server.h"

namespace basalt::testing {
namespace {

using namespace std::chrono_literals;

// Whether `pid` is a running process (a zombie waiting for its reaper is not).
bool running(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return false;
  size_t paren = line.rfind(')');
  return paren != std::string::npos && paren + 2 < line.size() && line[paren + 2] != 'Z';
}

TEST(ServerProcess, AKilledTestProcessLeavesNoServerBehind) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  pid_t test = ::fork();
  ASSERT_GE(test, 0);
  if (test == 0) {
    // The "test process": starts one server of each kind, says which, and waits to be killed.
    ::close(fds[0]);
    std::ostringstream out;
    try {
      RedisServer redis;
      ClickHouseServer clickhouse;
      auto pg = PostgresServer::start();
      if (!pg) throw std::runtime_error(pg.status().message());
      out << redis.pid() << ' ' << clickhouse.pid() << ' ' << (*pg)->pid() << ' '
          << redis.dir().string() << ' ' << clickhouse.dir().string() << ' '
          << (*pg)->dir().string() << '\n';
      std::string text = out.str();
      if (::write(fds[1], text.data(), text.size()) < 0) ::_exit(2);
      while (true) ::pause();
    } catch (const std::exception& e) {
      std::string text = std::string("error ") + e.what() + "\n";
      (void)!::write(fds[1], text.data(), text.size());
      ::_exit(3);
    }
  }
  ::close(fds[1]);
  std::string reply;
  auto deadline = std::chrono::steady_clock::now() + 180s;
  while (reply.find('\n') == std::string::npos && std::chrono::steady_clock::now() < deadline) {
    pollfd p{fds[0], POLLIN, 0};
    if (::poll(&p, 1, 1000) <= 0) continue;
    char buf[4096];
    ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n <= 0) break;
    reply.append(buf, static_cast<size_t>(n));
  }
  ::close(fds[0]);
  ASSERT_FALSE(reply.starts_with("error")) << reply;
  std::istringstream in(reply);
  pid_t redis = 0, clickhouse = 0, postgres = 0;
  std::string redis_dir, clickhouse_dir, postgres_dir;
  in >> redis >> clickhouse >> postgres >> redis_dir >> clickhouse_dir >> postgres_dir;
  ASSERT_GT(postgres, 0) << "the test process did not report its servers: '" << reply << "'";
  EXPECT_TRUE(running(redis));
  EXPECT_TRUE(running(clickhouse));
  EXPECT_TRUE(running(postgres));

  ::kill(test, SIGKILL);  // no destructor runs
  int status = 0;
  ::waitpid(test, &status, 0);
  EXPECT_TRUE(wait_until([&] { return !running(redis); }, 10s)) << "redis-server " << redis;
  EXPECT_TRUE(wait_until([&] { return !running(clickhouse); }, 10s))
      << "clickhouse-server " << clickhouse;
  EXPECT_TRUE(wait_until([&] { return !running(postgres); }, 10s)) << "postgres " << postgres;

  // Their folders are removed when the next harness folder is made: this one, or one that a
  // test running in parallel makes first (so whether they are still there now is not checked).
  // A sweep by another process may still be removing one, hence the wait.
  ScratchDir next("server_process_test");
  for (const std::string& dir : {redis_dir, clickhouse_dir, postgres_dir}) {
    EXPECT_TRUE(wait_until([&] { return !std::filesystem::exists(dir); }, 10s)) << dir;
  }
  EXPECT_TRUE(std::filesystem::exists(next.path())) << "a live owner's folder stays";
}

TEST(ServerProcess, OnlyFoldersOfProcessesThatAreGoneAreRemoved) {
  pid_t gone = ::fork();
  ASSERT_GE(gone, 0);
  if (gone == 0) ::_exit(0);
  int status = 0;
  ::waitpid(gone, &status, 0);  // reaped: no such process any more
  ScratchDir abandoned("server_process_abandoned");
  ScratchDir mine("server_process_live");
  std::ofstream(abandoned.path() / ".basalt_test_owner") << gone << "\n";
  std::filesystem::create_directories(abandoned.path() / "data" / "nested");
  EXPECT_GE(remove_abandoned_dirs(), 1u);
  EXPECT_FALSE(std::filesystem::exists(abandoned.path()));
  EXPECT_TRUE(std::filesystem::exists(mine.path()));
}

}  // namespace
}  // namespace basalt::testing
