#include "integration/basalt_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <random>
#include <sstream>
#include <thread>

extern char** environ;

namespace basalt::testing {

namespace {

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Forks and execs basalt with stdout/stderr to files; returns the pid.
pid_t spawn(const std::vector<std::string>& args, const std::vector<std::string>& env,
            const std::filesystem::path& out, const std::filesystem::path& err) {
  std::vector<std::string> argv_s = {basalt_binary().string()};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_s;
  for (char** e = environ; *e; ++e) env_s.emplace_back(*e);
  env_s.insert(env_s.end(), env.begin(), env.end());
  std::vector<char*> envp;
  for (auto& e : env_s) envp.push_back(e.data());
  envp.push_back(nullptr);

  pid_t pid = fork();
  if (pid == 0) {
    int o = open(out.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    int e = open(err.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    int in = open("/dev/null", O_RDONLY);
    dup2(in, 0);
    dup2(o, 1);
    dup2(e, 2);
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  return pid;
}

// Waits for `pid` up to `timeout`; returns its exit code (128+signal), or -1 on timeout.
int wait_pid(pid_t pid, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    int status = 0;
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
      return -1;
    }
    if (std::chrono::steady_clock::now() > deadline) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

int port_after(const std::string& log, const std::string& marker) {
  auto pos = log.find(marker);
  if (pos == std::string::npos) return 0;
  return std::atoi(log.c_str() + pos + marker.size());
}

}  // namespace

std::filesystem::path basalt_binary() { return BASALT_BINARY; }

TempDir::TempDir() {
  std::random_device rd;
  path_ = std::filesystem::temp_directory_path() /
          ("basalt-it-" + std::to_string(getpid()) + "-" + std::to_string(rd()));
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

CommandResult run_basalt(const std::vector<std::string>& args,
                         const std::vector<std::string>& env, std::chrono::seconds timeout) {
  TempDir dir;
  auto out = dir.path() / "out", err = dir.path() / "err";
  pid_t pid = spawn(args, env, out, err);
  CommandResult r;
  r.exit_code = wait_pid(pid, timeout);
  if (r.exit_code == -1) {
    ::kill(pid, SIGKILL);
    wait_pid(pid, std::chrono::seconds(5));
    ADD_FAILURE() << "basalt did not finish in time";
  }
  r.out = read_file(out);
  r.err = read_file(err);
  return r;
}

BasaltServer::BasaltServer(std::filesystem::path project_dir, std::filesystem::path data_dir)
    : project_dir_(std::move(project_dir)), data_dir_(std::move(data_dir)) {
  std::filesystem::create_directories(project_dir_);
  if (!std::filesystem::exists(project_dir_ / "basalt.yaml")) {
    std::ofstream(project_dir_ / "basalt.yaml") << default_yaml();
  }
  log_path_ = data_dir_.parent_path() / (data_dir_.filename().string() + ".log");
}

BasaltServer::~BasaltServer() {
  if (pid_ > 0) kill9();
}

std::string BasaltServer::default_yaml() {
  return "project: test\n"
         "log_level: debug\n"
         "sources:\n"
         "  - {name: app, write_key: test-key}\n"
         "  - {name: server, write_key: server-key}\n"
         "ingest: {max_batch_events: 100, max_body_bytes: 200KB, max_event_bytes: 4KB}\n"
         "api: {admin_token: test-admin}\n"
         "loader: {batch_interval: 50ms}\n";
}

void BasaltServer::start(const std::vector<std::string>& extra_args) {
  ASSERT_LT(pid_, 0) << "already running";
  // The log is appended to across restarts; only lines after this offset count.
  size_t offset = std::filesystem::exists(log_path_) ? std::filesystem::file_size(log_path_) : 0;
  std::vector<std::string> args = {"up",          project_dir_.string(), "--data",
                                   data_dir_.string(), "--ingest-port", "0",
                                   "--api-port",  "0"};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  pid_ = spawn(args, {}, log_path_, log_path_);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    std::string log = read_file(log_path_).substr(offset);
    ingest_port_ = port_after(log, "ingest listening on http://127.0.0.1:");
    api_port_ = port_after(log, "console listening on http://127.0.0.1:");
    if (ingest_port_ && api_port_) return;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      FAIL() << "basalt up exited during start:\n" << log;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  FAIL() << "basalt up did not start in 60 s:\n" << log();
}

void BasaltServer::kill9() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  wait_pid(pid_, std::chrono::seconds(10));
  pid_ = -1;
}

void BasaltServer::send_signal(int signal) {
  if (pid_ > 0) ::kill(pid_, signal);
}

int BasaltServer::terminate() {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  int code = wait_pid(pid_, std::chrono::seconds(60));
  if (code == -1) {
    ::kill(pid_, SIGKILL);
    wait_pid(pid_, std::chrono::seconds(10));
  }
  pid_ = -1;
  return code;
}

std::string BasaltServer::log() const { return read_file(log_path_); }

std::string BasaltServer::sql_json(const std::string& sql) {
  auto r = http_request(api_url(), "POST", "/api/v1/sql", nlohmann::json{{"sql", sql}}.dump(),
                        {{"Authorization", "Bearer test-admin"}});
  EXPECT_EQ(r.status, 200) << sql << "\n" << r.body;
  return r.body;
}

int64_t BasaltServer::sql_int(const std::string& sql) {
  auto j = nlohmann::json::parse(sql_json(sql), nullptr, false);
  if (j.is_discarded() || !j.contains("rows") || j["rows"].empty()) {
    ADD_FAILURE() << "no rows for " << sql;
    return -1;
  }
  const auto& v = j["rows"][0][0];
  return v.is_number() ? v.get<int64_t>() : -1;
}

void BasaltServer::wait_until_loaded(std::chrono::seconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    auto r = http_request(api_url(), "GET", "/api/v1/status", "",
                          {{"Authorization", "Bearer test-admin"}});
    auto j = nlohmann::json::parse(r.body, nullptr, false);
    if (r.status == 200 && !j.is_discarded() &&
        j["loader"]["position"] == j["wal"]["durable_end"]) {
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ADD_FAILURE() << "the loader did not catch up in " << timeout.count() << " s";
}

int64_t BasaltServer::wait_for_int(const std::string& sql, int64_t expected,
                                   std::chrono::seconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int64_t v = -1;
  while (std::chrono::steady_clock::now() < deadline) {
    v = sql_int(sql);
    if (v == expected) return v;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return v;
}

http::ClientResponse http_request(const std::string& base_url, const std::string& method,
                                  const std::string& target, const std::string& body,
                                  const std::vector<std::pair<std::string, std::string>>& headers) {
  auto client = http::Client::connect_to(base_url, std::chrono::seconds(30));
  if (!client) {
    ADD_FAILURE() << client.status().to_string();
    return {};
  }
  http::ClientRequest req;
  req.method = method;
  req.target = target;
  req.body = body;
  req.headers = headers;
  auto r = (*client)->send(req);
  if (!r) {
    ADD_FAILURE() << r.status().to_string();
    return {};
  }
  return *r;
}

std::string basic_auth(const std::string& write_key) { return http::basic_authorization(write_key); }

}  // namespace basalt::testing
