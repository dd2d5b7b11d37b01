#pragma once
// A throw-away PostgreSQL server for tests: `initdb` into a temporary folder, `postgres` on a
// free port, listening on 127.0.0.1 only (its Unix socket in the same folder), stopped and
// removed with the object. PostgreSQL refuses to run as root, so when the tests run as root the
// server runs as the `postgres` system user (created by Debian's package) in a folder it owns.
//
// Missing binaries are an error naming the Debian package `postgresql`: a test that needs the
// server fails with it, it does not skip.
//
// Usage:
//   auto pg = PostgresServer::start();
//   ASSERT_TRUE(pg.is_ok()) << pg.status().message();
//   auto url = (*pg)->url();  // postgres://basalt@127.0.0.1:PORT/postgres

#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <string>

#include "common/status.h"

namespace basalt::testing {

class PostgresServer {
 public:
  // Starts a fresh cluster (superuser `basalt`, trust authentication, fsync off) and waits
  // until it accepts connections.
  static Result<std::unique_ptr<PostgresServer>> start();
  ~PostgresServer();  // fast shutdown, then the folder is removed
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  int port() const { return port_; }
  pid_t pid() const { return pid_; }  // the postmaster
  const std::filesystem::path& dir() const { return dir_; }
  // A libpq URL of database `db` (created by create_database, or the default `postgres`).
  std::string url(const std::string& db = "postgres") const;
  // Creates an empty database named `db` (letters, digits and _ only).
  Status create_database(const std::string& db);
  // Runs one SQL command on the `postgres` database (setup in tests); its error, if any.
  Status execute(const std::string& sql, const std::string& db = "postgres");

 private:
  PostgresServer() = default;

  std::filesystem::path dir_;
  pid_t pid_ = 0;
  int port_ = 0;
};

}  // namespace basalt::testing
