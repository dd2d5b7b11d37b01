// basalt sql: runs SQL on the warehouse through the running server's API, or on the database
// file opened read-only when no server answers.

#include <fmt/format.h>

#include <cstdlib>
#include <iostream>

#include "api/query_json.h"
#include "cli/commands.h"
#include "cli/console_defaults.h"
#include "cli/table_format.h"
#include "common/config.h"
#include "http/client.h"
#include "warehouse/warehouse.h"

namespace basalt::cli {

namespace {

struct SqlOptions {
  std::string sql;
  std::string api;
  std::string token;
  std::string project = kDefaultProject;
  std::string data;
  std::string format = "table";
  size_t max_rows = 100000;
};

// The result's JSON through POST /api/v1/sql; kUnavailable when no server answers.
Result<nlohmann::json> query_server(const SqlOptions& o) {
  auto client = http::Client::connect_to(o.api, std::chrono::minutes(10));
  if (!client) return client.status();
  http::ClientRequest req;
  req.method = "POST";
  req.target = "/api/v1/sql";
  req.headers = {{"Authorization", "Bearer " + o.token}, {"Content-Type", "application/json"}};
  req.body = nlohmann::json{{"sql", o.sql}, {"max_rows", o.max_rows}}.dump();
  auto r = (*client)->send(req);
  if (!r) return r.status();
  auto body = nlohmann::json::parse(r->body, nullptr, false);
  if (r->status != 200) {
    std::string message = body.is_object() && body.contains("error")
                              ? body["error"].get<std::string>()
                              : r->body;
    StatusCode code = r->status == 401   ? StatusCode::kUnauthenticated
                      : r->status == 400 ? StatusCode::kInvalidArgument
                                         : StatusCode::kInternal;
    return Status(code, fmt::format("{} (HTTP {} from {})", message, r->status, o.api));
  }
  if (body.is_discarded() || !body.contains("columns")) {
    return internal_error("the server at " + o.api + " answered with something not a result");
  }
  return body;
}

Result<nlohmann::json> query_file(const SqlOptions& o, const std::filesystem::path& path) {
  warehouse::WarehouseOptions wo;
  wo.path = path.string();
  wo.read_only = true;
  auto w = warehouse::make_warehouse(wo);
  if (!w) return w.status();
  warehouse::QueryOptions qo;
  qo.max_rows = o.max_rows;
  qo.timeout = std::chrono::minutes(10);
  auto r = (*w)->query(o.sql, qo);
  if (!r) return r.status();
  return api::query_result_to_json(*r);
}

int run_sql(SqlOptions o) {
  auto fail = [](const Status& s) {
    std::cerr << "basalt sql: " << s.message() << "\n";
    return exit_code_of(s.code());
  };
  auto format = parse_output_format(o.format);
  if (!format) return fail(format.status());

  // The project supplies defaults for the API address, the token and the data folder.
  auto defaults = console_defaults(o.project, o.api, o.token);
  if (!defaults) return fail(defaults.status());
  ProjectConfig& config = *defaults;
  if (!o.data.empty()) config.data_dir = o.data;

  auto result = query_server(o);
  if (!result && result.status().code() == StatusCode::kUnavailable) {
    std::filesystem::path file = config.warehouse_path();
    std::error_code ec;
    if (!std::filesystem::exists(file, ec)) {
      return fail(Status(StatusCode::kUnavailable,
                         fmt::format("{}; and there is no warehouse file at {} to open read-only",
                                     result.status().message(), file.string())));
    }
    result = query_file(o, file);
  }
  if (!result) return fail(result.status());
  std::cout << format_result(*result, *format);
  return 0;
}

}  // namespace

void add_sql_command(CLI::App& root, int& exit_code) {
  auto opts = std::make_shared<SqlOptions>();
  CLI::App* cmd = root.add_subcommand(
      "sql",
      "Run SQL on the warehouse: through the running server's API (POST /api/v1/sql, admin "
      "token), or on the database file opened read-only when no server answers.");
  cmd->add_option("query", opts->sql, "The SQL statement")->required();
  cmd->add_option("--api", opts->api,
                  "Console API URL (default: $BASALT_API, else http://127.0.0.1:<api port>)");
  cmd->add_option("--token", opts->token,
                  "Admin token (default: $BASALT_TOKEN, else the project's admin_token)");
  cmd->add_option("--project", opts->project, "Project folder for defaults")
      ->capture_default_str();
  cmd->add_option("--data", opts->data, "Data folder holding the warehouse file (no server)");
  cmd->add_option("--format", opts->format, "table, csv or json")->capture_default_str();
  cmd->add_option("--max-rows", opts->max_rows, "Row cap")->capture_default_str();
  cmd->callback([opts, &exit_code] { exit_code = run_sql(*opts); });
}

}  // namespace basalt::cli
