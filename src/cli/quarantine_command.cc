// basalt quarantine: browse and replay the events collection refused, through the running
// server's console API (admin token).
//   basalt quarantine list [--source S] [--reason TEXT] [--since T] [--limit N]
//   basalt quarantine replay --since T [--source S] [--dry-run]
// T is an ISO 8601 date or date-time (UTC unless it says otherwise), or a duration back from
// now ("24h", "7d"). A replay re-submits each quarantined event received since T through the
// current plan and transforms; accepted ones are recorded and never replayed again.

#include <fmt/format.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "common/config.h"
#include "http/client.h"
#include "schema/compiled_plan.h"

namespace basalt::cli {

namespace {

using nlohmann::json;

struct QuarantineOptions {
  std::string api;
  std::string token;
  std::string project = kDefaultProject;
  std::string source;
  std::string reason;
  std::string since;
  size_t limit = 100;
  bool dry_run = false;
  std::string format = "table";
};

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

Result<int64_t> parse_since(const std::string& text) {
  if (text.empty()) return int64_t{0};
  if (auto us = schema::parse_timestamp(text)) return *us;
  std::string t = text;
  int64_t days = 0;
  if (t.size() > 1 && t.back() == 'd') {
    try {
      days = std::stoll(t.substr(0, t.size() - 1));
    } catch (...) {
      days = -1;
    }
    if (days < 0) return invalid_argument("--since: '" + text + "' is not a number of days");
    t = std::to_string(days * 24) + "h";
  }
  auto d = parse_duration(t);
  if (!d) {
    return invalid_argument("--since: '" + text +
                            "' is neither an ISO 8601 date-time nor a duration like 24h or 7d");
  }
  const int64_t now = std::chrono::duration_cast<std::chrono::microseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  return now - d->count();
}

Result<json> call(const QuarantineOptions& o, const std::string& method, const std::string& target,
                  const std::string& body) {
  auto client = http::Client::connect_to(o.api, std::chrono::minutes(10));
  if (!client) return client.status();
  http::ClientRequest req{method, target,
                          {{"Authorization", "Bearer " + o.token},
                           {"Content-Type", "application/json"}},
                          body};
  auto r = (*client)->send(req);
  if (!r) return r.status();
  json out = json::parse(r->body, nullptr, false);
  if (r->status != 200) {
    std::string message = out.is_object() && out.contains("error") && out["error"].is_string()
                              ? out["error"].get<std::string>()
                              : r->body;
    StatusCode code = r->status == 401   ? StatusCode::kUnauthenticated
                      : r->status == 400 ? StatusCode::kInvalidArgument
                                         : StatusCode::kInternal;
    return Status(code, fmt::format("{} (HTTP {} from {})", message, r->status, o.api));
  }
  if (out.is_discarded()) return internal_error("the server answered with something not JSON");
  return out;
}

std::string url_encode(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

int run(QuarantineOptions o, bool replay) {
  auto fail = [](const Status& s) {
    std::cerr << "basalt quarantine: " << s.message() << "\n";
    return exit_code_of(s.code());
  };
  ProjectConfig config;
  if (auto c = load_project_config(o.project); c.is_ok()) config = std::move(*c);
  if (auto s = apply_environment(config, [](const char* n) { return std::getenv(n); });
      !s.is_ok()) {
    return fail(s);
  }
  if (o.api.empty()) {
    o.api = env_or("BASALT_API", fmt::format("http://127.0.0.1:{}", config.api.port));
  }
  if (o.token.empty()) o.token = env_or("BASALT_TOKEN", config.api.admin_token);
  if (o.format != "table" && o.format != "json") {
    return fail(invalid_argument("--format must be table or json"));
  }
  auto since = parse_since(o.since);
  if (!since) return fail(since.status());

  Result<json> out = replay ? call(o, "POST", "/api/v1/quarantine/replay",
                                   json{{"since_us", *since},
                                        {"source", o.source},
                                        {"dry_run", o.dry_run}}
                                       .dump())
                            : call(o, "GET",
                                   fmt::format("/api/v1/quarantine?source={}&reason={}&since_us="
                                               "{}&limit={}",
                                               url_encode(o.source), url_encode(o.reason),
                                               *since, o.limit),
                                   "");
  if (!out) return fail(out.status());
  if (o.format == "json") {
    std::cout << out->dump() << "\n";
    return 0;
  }
  if (replay) {
    for (const auto& r : (*out)["results"]) {
      std::cout << r.value("quarantine_id", "") << "  " << r.value("source", "") << "  "
                << r.value("status", o.dry_run ? "would replay" : "") << "  "
                << r.value("reason", "") << "\n";
    }
    std::cout << fmt::format("{}{} replayed ({} events stored), {} still refused\n",
                             o.dry_run ? "dry run: " : "", (*out)["replayed"].get<int64_t>(),
                             (*out)["events_stored"].get<int64_t>(),
                             (*out)["still_refused"].get<int64_t>());
  } else {
    for (const auto& e : (*out)["events"]) {
      std::cout << e.value("quarantine_id", "-") << "  " << e.value("source", "") << "  "
                << e.value("reason", "") << "\n    " << e.value("raw", "") << "\n";
    }
    std::cout << fmt::format("({} events)\n", (*out)["events"].size());
  }
  return 0;
}

}  // namespace

void add_quarantine_command(CLI::App& root, int& exit_code) {
  CLI::App* cmd = root.add_subcommand(
      "quarantine", "Browse and replay the events collection refused (through the running server)");
  cmd->require_subcommand(1);
  auto common = [](CLI::App* c, QuarantineOptions& o) {
    c->add_option("--api", o.api,
                  "Console API URL (default: $BASALT_API, else http://127.0.0.1:<api port>)");
    c->add_option("--token", o.token,
                  "Admin token (default: $BASALT_TOKEN, else the project's admin_token)");
    c->add_option("--project", o.project, "Project folder for defaults")->capture_default_str();
    c->add_option("--source", o.source, "Only this source");
    c->add_option("--format", o.format, "table or json")->capture_default_str();
  };
  auto list_opts = std::make_shared<QuarantineOptions>();
  CLI::App* list = cmd->add_subcommand("list", "Refused events, newest first");
  common(list, *list_opts);
  list->add_option("--reason", list_opts->reason, "Only reasons containing this text");
  list->add_option("--since", list_opts->since, "ISO 8601 date-time or a duration (24h, 7d)");
  list->add_option("--limit", list_opts->limit, "At most this many")->capture_default_str();
  list->callback([list_opts, &exit_code] { exit_code = run(*list_opts, false); });

  auto replay_opts = std::make_shared<QuarantineOptions>();
  CLI::App* replay = cmd->add_subcommand(
      "replay",
      "Re-submit the events quarantined since T through the current plan and transforms; each "
      "accepted one is recorded and never replayed again");
  common(replay, *replay_opts);
  replay->add_option("--since", replay_opts->since, "ISO 8601 date-time or a duration (24h, 7d)")
      ->required();
  replay->add_flag("--dry-run", replay_opts->dry_run, "List what would be replayed");
  replay->callback([replay_opts, &exit_code] { exit_code = run(*replay_opts, true); });
}

}  // namespace basalt::cli
