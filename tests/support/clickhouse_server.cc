#include "support/clickhouse_server.h"

#include <fstream>
#include <stdexcept>

#include "http/client.h"

namespace basalt::testing {

ClickHouseServer::ClickHouseServer() {
  binary_ = find_program("clickhouse-server");
  if (binary_.empty()) {
    throw std::runtime_error(
        "clickhouse-server is not installed: install the Debian package clickhouse-server "
        "(scripts/setup.sh does)");
  }
  http_port_ = free_port();
  tcp_port_ = free_port();
  interserver_port_ = free_port();
  std::filesystem::path d = dir_.path();
  std::ofstream(d / "config.xml")
      << "<yandex>\n"
      << "  <logger><level>warning</level><log>" << (d / "server.log").string()
      << "</log><errorlog>" << (d / "error.log").string() << "</errorlog></logger>\n"
      << "  <http_port>" << http_port_ << "</http_port>\n"
      << "  <tcp_port>" << tcp_port_ << "</tcp_port>\n"
      << "  <interserver_http_port>" << interserver_port_ << "</interserver_http_port>\n"
      << "  <listen_host>127.0.0.1</listen_host>\n"
      << "  <path>" << (d / "data").string() << "/</path>\n"
      << "  <tmp_path>" << (d / "tmp").string() << "/</tmp_path>\n"
      << "  <users_config>/etc/clickhouse-server/users.xml</users_config>\n"
      << "  <default_profile>default</default_profile>\n"
      << "  <default_database>default</default_database>\n"
      << "  <mark_cache_size>53687091</mark_cache_size>\n"
      << "  <remote_servers><test_cluster><shard><replica><host>127.0.0.1</host><port>" << tcp_port_
      << "</port></replica></shard></test_cluster></remote_servers>\n"
      << "</yandex>\n";
  start_process();
}

ClickHouseServer::~ClickHouseServer() { process_.kill9(); }

void ClickHouseServer::restart() { start_process(); }

void ClickHouseServer::start_process() {
  process_.start({binary_, "--config-file=" + (dir_.path() / "config.xml").string()},
                 dir_.path() / "stdout.log");
  bool up = wait_until(
      [&] {
        auto client = http::Client::connect_to(url(), std::chrono::seconds(2));
        if (!client) return false;
        auto r = (*client)->send({"GET", "/ping", {}, ""});
        return r.is_ok() && r->status == 200;
      },
      std::chrono::seconds(60));
  if (!up) {
    std::ifstream log(dir_.path() / "error.log");
    std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
    throw std::runtime_error("clickhouse-server did not answer /ping on port " +
                             std::to_string(http_port_) + ": " + text);
  }
}

}  // namespace basalt::testing
