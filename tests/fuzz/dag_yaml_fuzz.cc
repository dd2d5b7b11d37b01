// Fuzzes the DAG YAML loader (dags/*.yaml, written by users): arbitrary text gives a DAG or
// file:line errors, never a crash. A DAG that loads also has its schedule evaluated over a
// few days and its templates rendered, as the scheduler would.

#include <cstddef>
#include <cstdint>
#include <string>

#include "domino/dag.h"
#include "domino/domino_config.h"
#include "domino/scheduler.h"
#include "domino/task_type.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace basalt::domino;
  static const TaskRegistry kRegistry = make_default_task_registry();
  static const DominoConfig kConfig;
  std::string text(reinterpret_cast<const char*>(data), size);
  auto parsed = parse_dag(text, "fuzz.yaml", kRegistry);
  if (!parsed.dag) return 0;
  const Dag& dag = *parsed.dag;
  const UnixSeconds from = 1'795'000'000;  // November 2026
  for (const auto& iv : intervals_between(dag, from, from + 3 * 86'400, 50)) {
    DagRun run;
    run.dag_id = dag.id;
    run.logical_date = iv.start;
    run.interval_start = iv.start;
    run.interval_end = iv.end;
    for (const auto& task : dag.tasks) {
      // Planning renders the task's templates and builds its command; nothing is run.
      TaskRunContext context{dag, task, template_context(dag, run, task.id), kConfig, nullptr, "."};
      (void)kRegistry.find(task.type)->plan(context);
    }
  }
  return 0;
}
