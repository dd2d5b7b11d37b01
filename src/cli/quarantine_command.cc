// basalt quarantine: browse and replay the events collection refused, through the running
// server's console API (admin token), or, with --data, in a collector node's data folder.
//   basalt quarantine list [--source S] [--reason TEXT] [--since T] [--limit N] [--data DIR]
//   basalt quarantine replay --since T [--source S] [--dry-run] [--data DIR --project P]
// T is an ISO 8601 date or date-time (UTC unless it says otherwise), or a duration back from
// now ("24h", "7d"). A replay re-submits each quarantined event received since T through the
// current plan and transforms; accepted ones are recorded and never replayed again.
//
// A collector (`basalt collect`) has no warehouse and no console: what it refuses is in
// DATA_DIR/quarantine.jsonl. `list --data DIR` reads that file. `replay --data DIR` runs the
// collector's pipeline (the project P's plan, transforms and enrichment) in this process and
// appends what it accepts to the folder's WAL, where the collector's stream sinks find it at
// its next start; the collector must be stopped meanwhile (its data folder is locked while it
// runs). Stored replays are recorded in DATA_DIR/quarantine_replays.jsonl. Both print what the
// console API answers, in the same shapes.

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <nlohmann/json.hpp>
#include <tuple>

#include "api/tracking_api.h"
#include "cli/commands.h"
#include "cli/console_defaults.h"
#include "cli/node_startup.h"
#include "cli/quarantine_journal.h"
#include "collect/ingest_service.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/metrics.h"
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
  std::string data;  // a collector's data folder: its files instead of a server
};

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

int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

json or_null(const std::optional<std::string>& v) { return v ? json(*v) : json(nullptr); }
json or_null(const std::optional<int64_t>& v) { return v ? json(*v) : json(nullptr); }

bool contains_ignoring_case(std::string_view text, std::string_view part) {
  auto lower = [](unsigned char c) { return static_cast<char>(std::tolower(c)); };
  return std::search(text.begin(), text.end(), part.begin(), part.end(), [&](char a, char b) {
           return lower(static_cast<unsigned char>(a)) == lower(static_cast<unsigned char>(b));
         }) != text.end();
}

// The entries received since `since_us` (those without a time never are, as in the warehouse).
Result<std::vector<QuarantineEntry>> entries_since(const std::filesystem::path& data_dir,
                                                   int64_t since_us) {
  std::error_code ec;
  if (!std::filesystem::is_directory(data_dir, ec))
    return not_found("no data folder " + data_dir.string());
  auto entries = read_quarantine_file(data_dir / "quarantine.jsonl");
  if (!entries) return entries.status();
  std::erase_if(*entries, [&](const QuarantineEntry& e) {
    return !e.received_at_us || *e.received_at_us < since_us;
  });
  return entries;
}

// GET /api/v1/quarantine on a collector's files: newest first.
Result<json> list_data_dir(const QuarantineOptions& o, int64_t since_us) {
  const std::filesystem::path dir = o.data;
  auto entries = entries_since(dir, since_us);
  if (!entries) return entries.status();
  auto replays = read_quarantine_replays(quarantine_replays_path(dir));
  if (!replays) return replays.status();
  std::erase_if(*entries, [&](const QuarantineEntry& e) {
    return (!o.source.empty() && e.source != o.source) ||
           (!o.reason.empty() && !contains_ignoring_case(e.reason, o.reason));
  });
  std::stable_sort(entries->begin(), entries->end(),
                   [](const QuarantineEntry& a, const QuarantineEntry& b) {
                     return *a.received_at_us > *b.received_at_us;
                   });
  json out = {{"events", json::array()}};
  for (const QuarantineEntry& e : *entries) {
    if (out["events"].size() >= o.limit) break;
    std::optional<int64_t> replayed;
    if (e.quarantine_id) {
      if (auto it = replays->find(*e.quarantine_id); it != replays->end()) replayed = it->second;
    }
    out["events"].push_back({{"quarantine_id", or_null(e.quarantine_id)},
                             {"received_at_us", or_null(e.received_at_us)},
                             {"source", e.source},
                             {"reason", e.reason},
                             {"raw", e.raw},
                             {"ip", e.ip},
                             {"call_type", e.call_type.empty() ? json(nullptr) : json(e.call_type)},
                             {"replayed_at_us", or_null(replayed)}});
  }
  return out;
}

// Appends `lines` to `file` and syncs it.
Status append_synced(const std::filesystem::path& file, const std::string& lines) {
  int fd = ::open(file.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) return unavailable("cannot open " + file.string() + ": " + std::strerror(errno));
  std::string_view rest = lines;
  while (!rest.empty()) {
    ssize_t n = ::write(fd, rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      Status s = unavailable("cannot write " + file.string() + ": " + std::strerror(errno));
      ::close(fd);
      return s;
    }
    rest.remove_prefix(static_cast<size_t>(n));
  }
  const bool synced = ::fdatasync(fd) == 0;
  const int error = errno;
  ::close(fd);
  if (!synced) return unavailable("cannot sync " + file.string() + ": " + std::strerror(error));
  return Status::ok();
}

// POST /api/v1/quarantine/replay on a collector's folder, with the collector's pipeline run
// here (the folder locked, so its collector is not running).
Result<json> replay_data_dir(const QuarantineOptions& o, int64_t since_us) {
  const std::filesystem::path dir = o.data;
  auto entries = entries_since(dir, since_us);
  if (!entries) return entries.status();
  const std::filesystem::path replays_file = quarantine_replays_path(dir);
  auto replays = read_quarantine_replays(replays_file);
  if (!replays) return replays.status();
  std::erase_if(*entries, [&](const QuarantineEntry& e) {
    return !e.quarantine_id || replays->contains(*e.quarantine_id) ||
           (!o.source.empty() && e.source != o.source);
  });
  std::stable_sort(entries->begin(), entries->end(),
                   [](const QuarantineEntry& a, const QuarantineEntry& b) {
                     return std::tie(*a.received_at_us, *a.quarantine_id) <
                            std::tie(*b.received_at_us, *b.quarantine_id);
                   });
  json out = api::replay_answer(o.dry_run);
  if (o.dry_run) {
    for (const QuarantineEntry& e : *entries)
      out["results"].push_back({{"quarantine_id", *e.quarantine_id}, {"source", e.source}});
    return out;
  }

  auto lock = DataDirLock::acquire(dir);
  if (!lock) {
    return Status(lock.status().code(),
                  lock.status().message() + ": stop the collector, replay, then start it again");
  }
  NodeFlags flags = NodeFlags::for_project(o.project);
  flags.data = o.data;
  auto config = start_node(flags, /*require_sources=*/true);  // logs on stderr, as nodes do
  if (!config) return config.status();
  auto project = check_servable_project(o.project, *config);
  if (!project) return project.status();
  MetricsRegistry metrics;
  auto wal = open_node_wal(*config, metrics);
  if (!wal) return wal.status();
  collect::IngestService ingest(config->ingest, config->sources, **wal, SystemClock::instance(),
                                metrics, [] { return Status::ok(); });
  auto pipeline = serve_collection(flags, *config, *project, ingest, /*warehouse=*/nullptr);
  if (!pipeline) return pipeline.status();

  std::string recorded;
  Status failed;
  for (const QuarantineEntry& e : *entries) {
    json item = {{"quarantine_id", *e.quarantine_id}, {"source", e.source}};
    auto result =
        ingest.resubmit(e.source, *e.received_at_us, e.raw, e.call_type, e.ip, *e.quarantine_id);
    if (!result) {
      failed = result.status();  // e.g. the WAL is not writable: stop here
      break;
    }
    if (result->accepted) {
      recorded += json{{"quarantine_id", *e.quarantine_id},
                       {"replayed_at_us", now_us()},
                       {"events", result->events}}
                      .dump() +
                  "\n";
    }
    api::add_replay_outcome(out, std::move(item),
                            api::ReplayResult{result->accepted, result->events, result->reason});
  }
  (*wal)->close();
  // The stored events are durable in the WAL: record them (a crash before this replays them
  // again, and the loader's messageId dedup keeps one of each).
  if (!recorded.empty()) BASALT_RETURN_IF_ERROR(append_synced(replays_file, recorded));
  if (!failed.is_ok()) return failed;
  return out;
}

int run(QuarantineOptions o, bool replay) {
  auto fail = [](const Status& s) {
    std::cerr << "basalt quarantine: " << s.message() << "\n";
    return exit_code_of(s.code());
  };
  if (auto defaults = console_defaults(o.project, o.api, o.token); !defaults) {
    return fail(defaults.status());
  }
  if (o.format != "table" && o.format != "json") {
    return fail(invalid_argument("--format must be table or json"));
  }
  auto since = parse_since(o.since);
  if (!since) return fail(since.status());

  Result<json> out = internal_error("not run");
  if (!o.data.empty()) {
    out = replay ? replay_data_dir(o, *since) : list_data_dir(o, *since);
  } else if (replay) {
    out = call(o, "POST", "/api/v1/quarantine/replay",
               json{{"since_us", *since}, {"source", o.source}, {"dry_run", o.dry_run}}.dump());
  } else {
    out = call(o, "GET",
               fmt::format("/api/v1/quarantine?source={}&reason={}&since_us={}&limit={}",
                           url_encode(o.source), url_encode(o.reason), *since, o.limit),
               "");
  }
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
    c->add_option("--data", o.data,
                  "A collector node's data folder: its quarantine.jsonl instead of a server");
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
