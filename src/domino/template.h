#pragma once
// Task templates: "{{ name }}" placeholders in task fields, filled in per task instance.
//
// Names: ds ds_nodash ts ts_nodash logical_date data_interval_start data_interval_end prev_ds
// next_ds run_id dag task params.<key> and macros.ds_add(<date name or 'YYYY-MM-DD'>, <days>).
// Every placeholder is checked when the DAG is validated, so an unknown name is reported with
// its file and line instead of failing the run at 2 a.m.

#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "common/status.h"

namespace basalt::domino {

struct TemplateContext {
  std::map<std::string, std::string> vars;  // ds, ts, run_id, ...
  nlohmann::json params = nlohmann::json::object();
};

// A template error: the message and the number of newlines before the placeholder, so callers
// can turn it into file:line.
struct TemplateError {
  std::string message;
  int line_offset = 0;
};

// Checks every placeholder of `text` against the known names and `param_names`.
std::optional<TemplateError> check_template(const std::string& text,
                                            const std::set<std::string>& param_names);

// Renders `text`. Unknown names are errors (kInvalidArgument).
Result<std::string> render_template(const std::string& text, const TemplateContext& context);

// Renders every string inside `value` (objects, arrays, keys left alone).
Result<nlohmann::json> render_json(const nlohmann::json& value, const TemplateContext& context);

// "2026-11-23" plus `days` → "2026-11-16" for -7. REQUIRES: `date` is YYYY-MM-DD.
Result<std::string> ds_add(const std::string& date, int days);

}  // namespace basalt::domino
