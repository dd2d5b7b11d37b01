#pragma once
// Operations on runs and task instances that act on the MetadataStore alone, so the CLI can
// use them without a running scheduler (a running scheduler sees the change on its next pass):
// clear, mark, and "why is this not running?".

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "domino/dag.h"
#include "domino/domino_config.h"
#include "domino/metadata_store.h"

namespace basalt::domino {

// The run named by `text`: a run_id, or a date/time (the newest run whose logical date falls
// on that date, or is exactly that time, in the DAG's zone). kNotFound otherwise.
Result<DagRun> resolve_run(MetadataStore& store, const Dag& dag, const std::string& text);

// Resets `task_id` (and every task downstream of it when `downstream`) to be run again:
// state none, tries 0; the run goes back to queued. Returns the task ids cleared.
// REQUIRES: no process of those tasks is running (a running one is refused).
Result<std::vector<std::string>> clear_task(MetadataStore& store, const Dag& dag, const DagRun& run,
                                            const std::string& task_id, bool downstream);

// Sets `task_id` to success or failed by hand; a finished run is re-opened so its other tasks
// and state follow.
Status mark_task(MetadataStore& store, const Dag& dag, const DagRun& run,
                 const std::string& task_id, TaskState state);

// The logical-date range [from, to] named by two texts in the DAG's zone: a date as `to`
// includes that whole day. Used by backfill and preview.
Result<std::pair<UnixSeconds, UnixSeconds>> parse_date_range(const Dag& dag,
                                                             const std::string& from,
                                                             const std::string& to);

// The runs a schedule would create for logical dates in [from, to], without creating them: an
// array of {logical_date, data_interval_start, data_interval_end, run_at}, ISO 8601 with the
// zone's UTC offset. kInvalidArgument for a DAG without a schedule.
Result<nlohmann::json> preview_runs(const Dag& dag, UnixSeconds from, UnixSeconds to);

// One line saying why the task instance is not running (or what it is doing).
Result<std::string> explain_task(MetadataStore& store, const Dag& dag, const DominoConfig& config,
                                 const DagRun& run, const std::string& task_id, int64_t now_us);

}  // namespace basalt::domino
