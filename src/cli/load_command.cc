// basalt load: a loader node — reads the stream records collectors forwarded to Kafka, as one
// member of a consumer group, and loads them into the project's warehouse (usually
// ClickHouse), exactly once per partition. Serves /healthz, /readyz and /metrics.

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <iostream>

#include "cli/commands.h"
#include "cli/node_startup.h"
#include "cli/version.h"
#include "common/metrics.h"
#include "http/router.h"
#include "http/server.h"
#include "schema/tracking_plan.h"
#include "stream/kafka_loader.h"
#include "stream/kafka_sink.h"
#include "warehouse/warehouse.h"

namespace basalt::cli {

namespace {

struct LoadOptions {
  std::string project = kDefaultProject;
  std::string from = "kafka";
  std::string brokers;
  std::string topic;
  std::string group = "basalt-loader";
  int port = -1;
  std::string bind = "127.0.0.1";
};

int run_load(const LoadOptions& o) {
  auto fail = [](const Status& s) { return report_failure("load", s); };
  if (o.from != "kafka") {
    return fail(invalid_argument("--from " + o.from + " is not supported (supported: kafka)"));
  }
  auto config = start_node(NodeFlags::for_project(o.project), /*require_sources=*/false);
  if (!config) return fail(config.status());

  // Brokers, topic and client properties: the flags, else the project's Kafka sink.
  stream::KafkaLoaderOptions ko;
  ko.group = o.group;
  for (const auto& sink : config->sinks) {
    if (sink.type != "kafka") continue;
    ko.brokers = sink.brokers;
    ko.topics = {sink.topic};
    ko.properties = sink.properties;
    break;
  }
  if (!o.brokers.empty()) ko.brokers = o.brokers;
  if (!o.topic.empty()) ko.topics = {o.topic};
  if (ko.brokers.empty()) {
    return fail(
        invalid_argument("no Kafka brokers: give --brokers, set BASALT_KAFKA_BROKERS or "
                         "declare a kafka sink in basalt.yaml"));
  }
  if (ko.topics.front().find("{source}") != std::string::npos) {
    return fail(invalid_argument("the Kafka topic '" + ko.topics.front() +
                                 "' names a topic per source: give --topic for the one to load"));
  }
  ko.batch_events = config->loader.batch_events;
  ko.batch_interval = config->loader.batch_interval;
  ko.dedup_window = config->loader.dedup_window;
  ko.dedup_max_ids = config->loader.dedup_max_ids;

  StopSignals signals(/*reloads=*/false);  // before any thread starts
  auto warehouse = open_node_warehouse(*config);
  if (!warehouse) return fail(warehouse.status());
  // The tracking plan's typed columns, filled from the values the collectors validated.
  std::vector<std::string> source_names;
  for (const auto& source : config->sources) source_names.push_back(source.name);
  auto plan = schema::load_tracking_plan(o.project, source_names);
  if (!plan) return fail(plan.status());
  auto column_messages = (*warehouse)->apply_plan_columns(warehouse::plan_columns(*plan));
  if (!column_messages) return fail(column_messages.status());
  for (const auto& m : *column_messages) spdlog::warn("tracking plan: {}", m);

  MetricsRegistry metrics;
  stream::KafkaLoader loader(**warehouse, ko, metrics);
  if (Status s = loader.start(); !s.is_ok()) return fail(s);

  http::Router routes;
  routes.add("GET", "/healthz",
             [](const http::Request&) { return http::Response::json(200, R"({"status":"ok"})"); });
  routes.add("GET", "/readyz", [&loader](const http::Request&) {
    stream::KafkaLoaderStats s = loader.stats();
    return http::Response::json(
        200, fmt::format(R"({{"status":"ready","detail":{{"partitions":{},"events":{},)"
                         R"("batches":{},"errors":{}}}}})",
                         s.partitions, s.events, s.batches, s.errors));
  });
  routes.add("GET", "/metrics", [&metrics](const http::Request&) {
    return http::Response::text(200, metrics.render(), "text/plain; version=0.0.4");
  });
  http::ServerOptions so;
  so.bind = o.bind;
  so.port = static_cast<uint16_t>(o.port >= 0 ? o.port : 0);
  so.threads = 1;
  so.name = "loader";
  http::Server server(so, std::move(routes));
  if (Status s = server.start(); !s.is_ok()) return fail(s);

  std::cout << fmt::format("basalt {} loading project '{}' from kafka\n", kVersion, config->name)
            << fmt::format("  kafka {} topic {} group {}\n", ko.brokers, ko.topics.front(),
                           ko.group)
            << fmt::format("  warehouse {}\n", warehouse_description(*config))
            << fmt::format("  metrics listening on http://{}:{}\n", o.bind, server.port())
            << "  stop with Ctrl-C\n"
            << std::flush;

  signals.wait();
  loader.stop();
  server.stop();
  spdlog::info("stopped cleanly");
  return 0;
}

}  // namespace

void add_load_command(CLI::App& root, int& exit_code) {
  auto opts = std::make_shared<LoadOptions>();
  CLI::App* cmd = root.add_subcommand(
      "load",
      "Run a loader node: read the events collectors forwarded to Kafka, as a member of a "
      "consumer group, and load them into the warehouse exactly once, until SIGINT or SIGTERM.");
  cmd->add_option("project", opts->project, "Project folder holding basalt.yaml")
      ->capture_default_str();
  cmd->add_option("--from", opts->from, "Where events come from (kafka)")->capture_default_str();
  cmd->add_option("--brokers", opts->brokers, "Kafka bootstrap servers (else the kafka sink's)");
  cmd->add_option("--topic", opts->topic, "Kafka topic (else the kafka sink's)");
  cmd->add_option("--group", opts->group, "Kafka consumer group shared by the loaders")
      ->capture_default_str();
  cmd->add_option("--port", opts->port, "Port of /metrics and /readyz (0 or absent: any free port)")
      ->check(CLI::Range(0, 65535));
  cmd->add_option("--bind", opts->bind, "Address of /metrics and /readyz")->capture_default_str();
  cmd->callback([opts, &exit_code] { exit_code = run_load(*opts); });
}

}  // namespace basalt::cli
