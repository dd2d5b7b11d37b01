#include "gen/gen_command.h"

#include <fmt/format.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <iostream>
#include <utility>

#include "gen/body_sink.h"
#include "gen/game_event_generator.h"

namespace basalt::gen {

namespace {

class FileSink final : public BodySink {
 public:
  FileSink(std::FILE* file, std::string path, bool owned)
      : file_(file), path_(std::move(path)), owned_(owned) {}
  ~FileSink() override {
    if (owned_ && file_ != nullptr) std::fclose(file_);
  }
  FileSink(const FileSink&) = delete;
  FileSink& operator=(const FileSink&) = delete;

  Status send(std::string_view body, bool) override {
    if (std::fwrite(body.data(), 1, body.size(), file_) != body.size() ||
        std::fputc('\n', file_) == EOF) {
      return unavailable(fmt::format("cannot write {}", path_));
    }
    return Status::ok();
  }
  Status finish() override {
    const bool flushed = std::fflush(file_) == 0;
    bool closed = true;
    if (owned_) {
      closed = std::fclose(file_) == 0;
      file_ = nullptr;
    }
    if (!flushed || !closed) return unavailable(fmt::format("cannot write {}", path_));
    return Status::ok();
  }

 private:
  std::FILE* file_;
  std::string path_;
  bool owned_;
};

Status validate(const GenCommandOptions& o) {
  if (o.out.empty() == o.post_url.empty()) {
    return invalid_argument("give exactly one of --out FILE or --post URL");
  }
  if (!o.post_url.empty() && o.write_key.empty()) {
    return invalid_argument("--post needs --write-key");
  }
  return Status::ok();
}

}  // namespace

Result<std::unique_ptr<BodySink>> open_file_sink(const std::string& path) {
  if (path == "-") return std::unique_ptr<BodySink>(std::make_unique<FileSink>(stdout, "stdout", false));
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) {
    return unavailable(fmt::format("cannot open {} for writing: {}", path, std::strerror(errno)));
  }
  return std::unique_ptr<BodySink>(std::make_unique<FileSink>(file, path, true));
}

Status run_gen_command(const GenCommandOptions& options, const Clock& clock, std::ostream& log) {
  BASALT_RETURN_IF_ERROR(validate(options));
  GenOptions gen;
  gen.users = options.users;
  gen.days = options.days;
  gen.seed = options.seed;
  gen.batch_size = options.batch_size;
  if (!options.end.empty()) {
    auto end = parse_iso8601(options.end);
    if (!end) return end.status();
    gen.end_time_us = *end;
  }
  auto generator = GameEventGenerator::create(gen, clock);
  if (!generator) return generator.status();

  auto sink = options.out.empty() ? open_http_sink(options.post_url, options.write_key)
                                  : open_file_sink(options.out);
  if (!sink) return sink.status();

  const auto started = std::chrono::steady_clock::now();
  const bool single = options.batch_size == 1;
  while (auto body = generator->next_body()) {
    BASALT_RETURN_IF_ERROR((*sink)->send(*body, single));
  }
  BASALT_RETURN_IF_ERROR((*sink)->finish());
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  log << fmt::format("basalt gen: {} bodies, {} events, {} bytes in {:.2f} s ({:.0f} events/s)\n",
                     generator->bodies(), generator->events(), generator->bytes(), seconds,
                     seconds > 0 ? static_cast<double>(generator->events()) / seconds : 0.0);
  return Status::ok();
}

void add_gen_command(CLI::App& root, int& exit_code) {
  auto options = std::make_shared<GenCommandOptions>();
  CLI::App* cmd = root.add_subcommand(
      "gen",
      "Generate realistic mobile-game events (installs, logins, sessions, level-ups, chat,\n"
      "purchases, payments, identify calls) as Segment HTTP API bodies, in time order.\n"
      "The same options and seed always give the same bytes.");
  cmd->add_option("--users", options->users, "Players installing over the history")
      ->capture_default_str()
      ->check(CLI::Range(uint64_t{1}, uint64_t{10'000'000}));
  cmd->add_option("--days", options->days, "Days of history, ending at --end")
      ->capture_default_str()
      ->check(CLI::Range(uint32_t{1}, uint32_t{3650}));
  cmd->add_option("--seed", options->seed, "Random seed")->capture_default_str();
  cmd->add_option("--batch-size", options->batch_size,
                  "Events per body: >1 gives /v1/batch bodies, 1 gives single /v1/track events")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{2500}));
  cmd->add_option("--end", options->end,
                  "End of the history, ISO 8601 UTC (2024-05-01T00:00:00Z); default now. "
                  "Bodies carry it as sentAt, so a server correcting clock skew places a "
                  "posted history to end when it is received");
  auto* out = cmd->add_option("--out", options->out,
                              "Write one body per line (NDJSON) to FILE; - for stdout");
  auto* post = cmd->add_option(
      "--post", options->post_url,
      "POST each body to URL (http://host:port) at /v1/batch or /v1/track");
  out->excludes(post);
  cmd->add_option("--write-key", options->write_key,
                  "Write key for --post, sent as the HTTP Basic user")
      ->needs(post);
  cmd->footer(
      "Examples:\n"
      "  basalt gen --users 1000 --days 14 --out events.ndjson\n"
      "  basalt gen --post http://127.0.0.1:8080 --write-key demo-write-key\n"
      "A summary (bodies, events, bytes, events/s) goes to stderr.");
  cmd->callback([options, &exit_code] {
    const Status status = run_gen_command(*options, SystemClock::instance(), std::cerr);
    if (status.is_ok()) {
      exit_code = 0;
      return;
    }
    std::cerr << "basalt gen: " << status.message() << "\n";
    exit_code = exit_code_of(status.code());
  });
}

}  // namespace basalt::gen
