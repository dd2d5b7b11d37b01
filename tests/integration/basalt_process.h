#pragma once
// Runs the real `basalt` binary for integration tests: a temporary project and data folder,
// ports chosen by the server (port 0) and read back from its start-up lines, and kill/restart.

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "http/client.h"

namespace basalt::testing {

// The path of the basalt binary under test (set by CMake).
std::filesystem::path basalt_binary();

// A fresh temporary folder, removed with the object.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs `basalt args…` to completion with `env` added to the environment.
CommandResult run_basalt(const std::vector<std::string>& args,
                         const std::vector<std::string>& env = {},
                         std::chrono::seconds timeout = std::chrono::seconds(60));

class BasaltServer {
 public:
  // Writes a project into `project_dir` (basalt.yaml from `yaml`) unless it has one.
  BasaltServer(std::filesystem::path project_dir, std::filesystem::path data_dir);
  ~BasaltServer();

  static std::string default_yaml();  // source "app" with key "test-key", admin "test-admin"

  // Starts `basalt up` with ports 0 and waits until both servers answer.
  void start(const std::vector<std::string>& extra_args = {});
  void kill9();     // SIGKILL, then reap
  int terminate();  // SIGTERM, then wait; returns the exit status
  void send_signal(int signal);  // e.g. SIGHUP; no wait
  bool running() const { return pid_ > 0; }

  std::string ingest_url() const { return "http://127.0.0.1:" + std::to_string(ingest_port_); }
  std::string api_url() const { return "http://127.0.0.1:" + std::to_string(api_port_); }
  std::string log() const;  // what the server printed so far

  // Runs SQL through POST /api/v1/sql with the admin token; fails the test on error.
  std::string sql_json(const std::string& sql);
  // First column of the first row as an integer.
  int64_t sql_int(const std::string& sql);
  // Waits until the loader has stored everything durable in the WAL; fails the test after
  // `timeout`.
  void wait_until_loaded(std::chrono::seconds timeout = std::chrono::seconds(60));
  // Waits until `sql_int(sql) == expected` or the timeout passes; returns the last value.
  int64_t wait_for_int(const std::string& sql, int64_t expected,
                       std::chrono::seconds timeout = std::chrono::seconds(30));

 private:
  std::filesystem::path project_dir_;
  std::filesystem::path data_dir_;
  std::filesystem::path log_path_;
  pid_t pid_ = -1;
  int ingest_port_ = 0;
  int api_port_ = 0;
};

// A one-shot HTTP request, failing the test when the server cannot be reached.
http::ClientResponse http_request(const std::string& base_url, const std::string& method,
                                  const std::string& target, const std::string& body = "",
                                  const std::vector<std::pair<std::string, std::string>>& headers = {});

// "Basic base64(key:)" for a write key.
std::string basic_auth(const std::string& write_key);

}  // namespace basalt::testing
