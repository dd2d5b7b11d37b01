#include "support/postgres_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "support/server_process.h"

namespace basalt::testing {

namespace {

// The bin folder of the newest PostgreSQL installed by Debian (/usr/lib/postgresql/N/bin), or
// BASALT_POSTGRES_BIN when set.
Result<std::filesystem::path> postgres_bin() {
  if (const char* env = std::getenv("BASALT_POSTGRES_BIN"); env && *env)
    return std::filesystem::path(env);
  std::filesystem::path best;
  int best_version = -1;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/usr/lib/postgresql", ec)) {
    auto bin = entry.path() / "bin";
    if (!std::filesystem::exists(bin / "postgres") || !std::filesystem::exists(bin / "initdb"))
      continue;
    int version = std::atoi(entry.path().filename().c_str());
    if (version > best_version) {
      best_version = version;
      best = bin;
    }
  }
  if (best.empty()) {
    return failed_precondition(
        "PostgreSQL is not installed: the test needs the Debian package postgresql "
        "(initdb and postgres under /usr/lib/postgresql/N/bin)");
  }
  return best;
}

// The user the server runs as: `postgres` when we are root (PostgreSQL refuses root).
struct RunAs {
  bool change = false;
  uid_t uid = 0;
  gid_t gid = 0;
};

Result<RunAs> run_as() {
  RunAs r;
  if (geteuid() != 0) return r;
  passwd* pw = getpwnam("postgres");
  if (!pw) {
    return failed_precondition(
        "the tests run as root and PostgreSQL refuses root, but there is no `postgres` user "
        "(created by the Debian package postgresql)");
  }
  r.change = true;
  r.uid = pw->pw_uid;
  r.gid = pw->pw_gid;
  return r;
}

// Starts argv as `who`, output appended to `log`; returns the pid.
Result<pid_t> spawn(const std::vector<std::string>& args, const RunAs& who,
                    const std::filesystem::path& log) {
  std::vector<std::string> copy = args;
  std::vector<char*> argv;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::string log_path = log.string();
  const pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) return unavailable(fmt::format("fork: {}", std::strerror(errno)));
  if (pid == 0) {
    int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    int null = open("/dev/null", O_RDONLY);
    if (null >= 0) dup2(null, 0);
    setpgid(0, 0);  // not in the test's process group: a Ctrl-C of the test is ours to pass on
    if (who.change && (setgid(who.gid) != 0 || setuid(who.uid) != 0)) _exit(126);
    die_with_parent(parent, SIGKILL);  // after setuid, which clears it
    execv(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

std::string read_tail(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  return s.size() > 2000 ? s.substr(s.size() - 2000) : s;
}

std::string conninfo(int port, const std::string& db) {
  return fmt::format("host=127.0.0.1 port={} user=basalt dbname={} connect_timeout=5", port, db);
}

}  // namespace

Result<std::unique_ptr<PostgresServer>> PostgresServer::start() {
  auto bin = postgres_bin();
  if (!bin) return bin.status();
  auto who = run_as();
  if (!who) return who.status();
  remove_abandoned_dirs();
  std::string tmpl = (std::filesystem::temp_directory_path() / "basalt_pg_XXXXXX").string();
  if (!mkdtemp(tmpl.data())) return unavailable(fmt::format("mkdtemp: {}", std::strerror(errno)));
  std::unique_ptr<PostgresServer> server(new PostgresServer());
  server->dir_ = tmpl;
  mark_owned(server->dir_);
  if (who->change && chown(tmpl.c_str(), who->uid, who->gid) != 0) {
    return unavailable(fmt::format("chown {} to postgres: {}", tmpl, std::strerror(errno)));
  }
  chmod(tmpl.c_str(), 0700);
  const auto data = server->dir_ / "data";
  const auto log = server->dir_ / "server.log";
  {
    std::ofstream(log).flush();
    if (who->change && chown(log.c_str(), who->uid, who->gid) != 0) {
      return unavailable(fmt::format("chown {}: {}", log.string(), std::strerror(errno)));
    }
  }
  auto initdb = spawn({(*bin / "initdb").string(), "-D", data.string(), "-U", "basalt", "-A",
                       "trust", "-E", "UTF8", "--no-sync", "--no-instructions"},
                      *who, log);
  if (!initdb) return initdb.status();
  int status = 0;
  waitpid(*initdb, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return unavailable(fmt::format("initdb failed (status {}): {}", status, read_tail(log)));
  }
  for (int attempt = 0; attempt < 3; ++attempt) {
    int port = free_port();
    auto pid = spawn({(*bin / "postgres").string(),
                      "-D",
                      data.string(),
                      "-p",
                      std::to_string(port),
                      "-h",
                      "127.0.0.1",
                      "-k",
                      server->dir_.string(),
                      "-F",
                      "-c",
                      "fsync=off",
                      "-c",
                      "synchronous_commit=off",
                      "-c",
                      "full_page_writes=off",
                      "-c",
                      "max_connections=40",
                      "-c",
                      "shared_buffers=16MB"},
                     *who, log);
    if (!pid) return pid.status();
    server->pid_ = *pid;
    server->port_ = port;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    std::string info = conninfo(port, "postgres");
    while (std::chrono::steady_clock::now() < deadline) {
      if (PQping(info.c_str()) == PQPING_OK) return server;
      if (waitpid(*pid, &status, WNOHANG) == *pid) {
        server->pid_ = 0;
        break;  // exited: most likely the port was taken meanwhile; try another
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (server->pid_) {
      return unavailable(
          fmt::format("postgres did not accept connections within 30 s: {}", read_tail(log)));
    }
  }
  return unavailable(fmt::format("postgres did not start: {}", read_tail(log)));
}

PostgresServer::~PostgresServer() {
  if (pid_ > 0) {
    kill(pid_, SIGINT);  // fast shutdown: disconnects clients, then exits
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    int status = 0;
    while (waitpid(pid_, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  std::error_code ec;
  if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
}

std::string PostgresServer::url(const std::string& db) const {
  return fmt::format("postgres://basalt@127.0.0.1:{}/{}", port_, db);
}

Status PostgresServer::execute(const std::string& sql, const std::string& db) {
  PGconn* conn = PQconnectdb(conninfo(port_, db).c_str());
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string m = PQerrorMessage(conn);
    PQfinish(conn);
    return unavailable("cannot connect to the test PostgreSQL: " + m);
  }
  PGresult* r = PQexec(conn, sql.c_str());
  Status s = Status::ok();
  if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
    s = invalid_argument(fmt::format("{}: {}", sql, PQresultErrorMessage(r)));
  }
  PQclear(r);
  PQfinish(conn);
  return s;
}

Status PostgresServer::create_database(const std::string& db) {
  for (char c : db) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') {
      return invalid_argument(fmt::format("database name '{}': letters, digits and _ only", db));
    }
  }
  return execute("CREATE DATABASE " + db);
}

}  // namespace basalt::testing
