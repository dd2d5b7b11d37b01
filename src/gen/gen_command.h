#pragma once
// `basalt gen`: writes the game event generator's request bodies to a file (NDJSON) or posts
// them to a Basalt ingest endpoint (or any Segment-compatible one).

#include <CLI/CLI.hpp>

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>

#include "common/clock.h"
#include "common/status.h"

namespace basalt::gen {

struct GenCommandOptions {
  uint64_t users = 1000;
  uint32_t days = 14;
  uint64_t seed = 1;
  size_t batch_size = 100;
  std::string end;        // ISO 8601; empty: now
  std::string out;        // file, "-" for stdout; exclusive with post_url
  std::string post_url;   // http://host:port[/prefix]
  std::string write_key;  // required with post_url
};

// Runs the command: generates, writes or posts every body, then prints a summary line (bodies,
// events, bytes, events/s) to `log`. Errors: kInvalidArgument for bad options; kUnavailable
// when the file cannot be written or the server cannot be reached; the matching code when the
// server answers an error status (the message quotes the status and the answer's start).
Status run_gen_command(const GenCommandOptions& options, const Clock& clock, std::ostream& log);

// Adds the `gen` subcommand to `root`. When it runs, `exit_code` receives 0 or the exit code of
// the error (after a one-line "basalt gen: <message>" on stderr).
void add_gen_command(CLI::App& root, int& exit_code);

}  // namespace basalt::gen
