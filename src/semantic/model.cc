#include "semantic/model.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "common/project_files.h"
#include "semantic/metric_expr.h"

namespace basalt::semantic {

std::string Location::to_string() const { return fmt::format("{}:{}", file, line); }

const char* aggregation_name(Aggregation a) {
  switch (a) {
    case Aggregation::kCount:
      return "count";
    case Aggregation::kCountDistinct:
      return "count_distinct";
    case Aggregation::kApproxCountDistinct:
      return "approx_count_distinct";
    case Aggregation::kSum:
      return "sum";
    case Aggregation::kAvg:
      return "avg";
    case Aggregation::kMin:
      return "min";
    case Aggregation::kMax:
      return "max";
    case Aggregation::kMedian:
      return "median";
    case Aggregation::kPercentile:
      return "percentile";
  }
  return "?";
}

bool is_identifier(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  if (!alpha(s[0])) return false;
  return std::all_of(s.begin(), s.end(),
                     [&](char c) { return alpha(c) || (c >= '0' && c <= '9'); });
}

const Dimension* Model::dimension(const std::string& n) const {
  for (const auto& d : dimensions)
    if (d.name == n) return &d;
  return nullptr;
}
const Measure* Model::measure(const std::string& n) const {
  for (const auto& m : measures)
    if (m.name == n) return &m;
  return nullptr;
}
const Metric* Model::metric(const std::string& n) const {
  for (const auto& m : metrics)
    if (m.name == n) return &m;
  return nullptr;
}

const Model* ModelSet::find(const std::string& name) const {
  for (const auto& m : models_)
    if (m.name == name) return &m;
  return nullptr;
}

namespace {

class FileParser {
 public:
  explicit FileParser(std::string file) : file_(std::move(file)) {}

  std::vector<Model> parse(const std::string& text) {
    std::vector<YAML::Node> docs;
    try {
      docs = YAML::LoadAll(text);
    } catch (const YAML::Exception& e) {
      add(e.mark.line + 1, e.msg);
      return {};
    }
    std::vector<Model> out;
    for (const auto& doc : docs) {
      if (doc.IsNull()) continue;
      if (!doc.IsMap()) {
        add(doc, "a model must be a mapping with at least 'model' and 'table'");
        continue;
      }
      size_t before = errors_.size();
      Model m = model(doc);
      if (errors_.size() == before) out.push_back(std::move(m));
    }
    return out;
  }

  std::vector<std::string> take_errors() { return std::move(errors_); }

 private:
  void add(int line, const std::string& message) {
    errors_.push_back(fmt::format("{}:{}: {}", file_, line, message));
  }
  void add(const YAML::Node& n, const std::string& message) { add(n.Mark().line + 1, message); }
  Location here(const YAML::Node& n) const { return {file_, n.Mark().line + 1}; }

  // The scalar at `key` of map `n`, or "" when absent; an error when it is not a scalar.
  std::string text(const YAML::Node& n, const char* key, bool required = false) {
    YAML::Node v = n[key];
    if (!v) {
      if (required) add(n, fmt::format("'{}' is required", key));
      return "";
    }
    if (!v.IsScalar()) {
      add(v, fmt::format("'{}' must be a text value", key));
      return "";
    }
    return v.as<std::string>();
  }

  void only_keys(const YAML::Node& n, std::initializer_list<const char*> keys, const char* what) {
    for (const auto& kv : n) {
      std::string k = kv.first.as<std::string>();
      if (std::none_of(keys.begin(), keys.end(), [&](const char* x) { return k == x; })) {
        std::string known;
        for (const char* x : keys) known += (known.empty() ? "" : ", ") + std::string(x);
        add(kv.first, fmt::format("unknown key '{}' in {} (known: {})", k, what, known));
      }
    }
  }

  void name_of(const YAML::Node& n, std::string& name, const char* what) {
    name = text(n, "name", true);
    if (!name.empty() && !is_identifier(name)) {
      add(n["name"], fmt::format("{} name '{}' must be an identifier ([A-Za-z_][A-Za-z0-9_]*, at "
                                 "most 64 characters)",
                                 what, name));
    }
  }

  Model model(const YAML::Node& doc) {
    Model m;
    m.location = here(doc);
    only_keys(doc,
              {"model", "table", "time", "user", "description", "owner", "joins", "dimensions",
               "measures", "metrics"},
              "a model");
    m.name = text(doc, "model", true);
    if (!m.name.empty() && !is_identifier(m.name)) {
      add(doc["model"], fmt::format("model name '{}' must be an identifier", m.name));
    }
    m.table = text(doc, "table", true);
    if (!m.table.empty() && !is_identifier(m.table)) {
      add(doc["table"],
          fmt::format("table '{}' must be a table or view name (an identifier)", m.table));
    }
    m.time = text(doc, "time");
    if (!m.time.empty() && !is_identifier(m.time)) {
      add(doc["time"], fmt::format("time '{}' must be a column name", m.time));
    }
    m.user = text(doc, "user");
    if (m.user.empty()) m.user = "user_id";
    if (!is_identifier(m.user))
      add(doc["user"], fmt::format("user '{}' must be a column name", m.user));
    m.description = text(doc, "description");
    m.owner = text(doc, "owner");

    for (const auto& j : list(doc, "joins")) {
      Join join;
      join.location = here(j);
      only_keys(j, {"model", "on", "relationship"}, "a join");
      join.model = text(j, "model", true);
      join.on = text(j, "on", true);
      std::string rel = text(j, "relationship");
      if (rel.empty() || rel == "many_to_one") {
        join.relationship = Relationship::kManyToOne;
      } else if (rel == "one_to_one") {
        join.relationship = Relationship::kOneToOne;
      } else if (rel == "one_to_many") {
        add(j["relationship"],
            "one_to_many joins would multiply the model's rows and inflate its measures; model "
            "the relation from the other side (a many_to_one join there)");
      } else {
        add(j["relationship"], fmt::format("unknown relationship '{}' (known: many_to_one, "
                                           "one_to_one)",
                                           rel));
      }
      m.joins.push_back(std::move(join));
    }

    std::set<std::string> names;
    auto unique = [&](const YAML::Node& n, const std::string& name) {
      if (!name.empty() && !names.insert(name).second) {
        add(n, fmt::format("'{}' is defined twice in model '{}' (dimensions, measures and "
                           "metrics share one namespace)",
                           name, m.name));
      }
    };
    for (const auto& d : list(doc, "dimensions")) {
      Dimension dim;
      dim.location = here(d);
      only_keys(d, {"name", "column", "sql", "type", "description"}, "a dimension");
      name_of(d, dim.name, "dimension");
      dim.column = text(d, "column");
      dim.sql = text(d, "sql");
      dim.type = text(d, "type");
      dim.description = text(d, "description");
      if (dim.column.empty() == dim.sql.empty()) {
        add(d, fmt::format("dimension '{}' needs exactly one of 'column' and 'sql'", dim.name));
      }
      if (!dim.column.empty() && !is_identifier(dim.column)) {
        add(d["column"], fmt::format("column '{}' must be a column name", dim.column));
      }
      if (!dim.type.empty() && dim.type != "string" && dim.type != "number" &&
          dim.type != "boolean" && dim.type != "time") {
        add(d["type"], fmt::format("unknown dimension type '{}' (known: string, number, boolean, "
                                   "time)",
                                   dim.type));
      }
      unique(d, dim.name);
      m.dimensions.push_back(std::move(dim));
    }
    for (const auto& x : list(doc, "measures")) {
      Measure me;
      me.location = here(x);
      only_keys(x, {"name", "agg", "column", "sql", "filter", "p", "format", "description"},
                "a measure");
      name_of(x, me.name, "measure");
      std::string agg = text(x, "agg", true);
      static const std::pair<const char*, Aggregation> kAggs[] = {
          {"count", Aggregation::kCount},
          {"count_distinct", Aggregation::kCountDistinct},
          {"approx_count_distinct", Aggregation::kApproxCountDistinct},
          {"sum", Aggregation::kSum},
          {"avg", Aggregation::kAvg},
          {"min", Aggregation::kMin},
          {"max", Aggregation::kMax},
          {"median", Aggregation::kMedian},
          {"percentile", Aggregation::kPercentile}};
      bool known = false;
      for (const auto& [n, a] : kAggs) {
        if (agg == n) {
          me.agg = a;
          known = true;
        }
      }
      if (!agg.empty() && !known) {
        add(x["agg"], fmt::format("unknown aggregation '{}' (known: count, count_distinct, "
                                  "approx_count_distinct, sum, avg, min, max, median, percentile)",
                                  agg));
      }
      me.column = text(x, "column");
      me.sql = text(x, "sql");
      me.filter = text(x, "filter");
      me.format = text(x, "format");
      me.description = text(x, "description");
      if (!me.column.empty() && !is_identifier(me.column)) {
        add(x["column"], fmt::format("column '{}' must be a column name", me.column));
      }
      if (!me.column.empty() && !me.sql.empty()) {
        add(x, fmt::format("measure '{}' takes 'column' or 'sql', not both", me.name));
      }
      if (known && me.agg != Aggregation::kCount && me.column.empty() && me.sql.empty()) {
        add(x,
            fmt::format("measure '{}' ({}) needs a 'column' or 'sql' to aggregate", me.name, agg));
      }
      if (me.agg == Aggregation::kPercentile) {
        YAML::Node p = x["p"];
        double v = -1;
        try {
          if (p && p.IsScalar()) v = p.as<double>();
        } catch (const YAML::Exception&) {
        }
        if (!(v > 0 && v < 1)) {
          add(p ? p : x, fmt::format("measure '{}' (percentile) needs 'p' between 0 and 1, e.g. "
                                     "p: 0.9",
                                     me.name));
        }
        me.percentile = v;
      } else if (x["p"]) {
        add(x["p"], "'p' applies to agg: percentile only");
      }
      check_format(x, me.format);
      unique(x, me.name);
      m.measures.push_back(std::move(me));
    }
    for (const auto& x : list(doc, "metrics")) {
      Metric me;
      me.location = here(x);
      only_keys(x, {"name", "expr", "format", "description"}, "a metric");
      name_of(x, me.name, "metric");
      me.expr = text(x, "expr", true);
      me.format = text(x, "format");
      me.description = text(x, "description");
      check_format(x, me.format);
      unique(x, me.name);
      m.metrics.push_back(std::move(me));
    }
    // Metric expressions: names must be measures or earlier-resolvable metrics, no cycles.
    for (const auto& me : m.metrics) {
      auto tokens = parse_metric_expr(me.expr);
      if (!tokens) {
        add(me.location.line, fmt::format("metric '{}': {}", me.name, tokens.status().message()));
        continue;
      }
      for (const auto& t : *tokens) {
        if (t.kind != ExprToken::Kind::kName) continue;
        if (!m.measure(t.text) && !m.metric(t.text)) {
          add(me.location.line, fmt::format("metric '{}' names '{}', which is no measure or "
                                            "metric of model '{}'",
                                            me.name, t.text, m.name));
        }
      }
    }
    for (const auto& me : m.metrics) {
      std::vector<std::string> stack;
      if (has_cycle(m, me.name, stack)) {
        add(me.location.line, fmt::format("metric '{}' depends on itself (through {})", me.name,
                                          fmt::join(stack, " → ")));
      }
    }
    return m;
  }

  bool has_cycle(const Model& m, const std::string& name, std::vector<std::string>& stack) {
    if (std::find(stack.begin(), stack.end(), name) != stack.end()) {
      stack.push_back(name);
      return true;
    }
    const Metric* me = m.metric(name);
    if (!me) return false;
    auto tokens = parse_metric_expr(me->expr);
    if (!tokens) return false;
    stack.push_back(name);
    for (const auto& t : *tokens) {
      if (t.kind == ExprToken::Kind::kName && has_cycle(m, t.text, stack)) return true;
    }
    stack.pop_back();
    return false;
  }

  void check_format(const YAML::Node& x, const std::string& f) {
    if (!f.empty() && f != "number" && f != "currency" && f != "percent") {
      add(x["format"], fmt::format("unknown format '{}' (known: number, currency, percent)", f));
    }
  }

  std::vector<YAML::Node> list(const YAML::Node& doc, const char* key) {
    std::vector<YAML::Node> out;
    YAML::Node n = doc[key];
    if (!n) return out;
    if (!n.IsSequence()) {
      add(n, fmt::format("'{}' must be a list", key));
      return out;
    }
    for (const auto& x : n) {
      if (!x.IsMap()) {
        add(x, fmt::format("each entry of '{}' must be a mapping", key));
        continue;
      }
      out.push_back(x);
    }
    return out;
  }

  std::string file_;
  std::vector<std::string> errors_;
};

void check_joins(ModelSet& set, std::vector<std::string>& errors) {
  std::set<std::string> seen;
  for (const auto& m : set.models()) {
    if (!seen.insert(m.name).second) {
      errors.push_back(
          fmt::format("{}: model '{}' is defined twice", m.location.to_string(), m.name));
    }
    for (const auto& j : m.joins) {
      if (!set.find(j.model)) {
        errors.push_back(
            fmt::format("{}: join to unknown model '{}'", j.location.to_string(), j.model));
      } else if (j.model == m.name) {
        errors.push_back(fmt::format("{}: a model cannot join itself", j.location.to_string()));
      }
    }
  }
}

}  // namespace

ModelSet::Loaded ModelSet::parse(const std::string& file, const std::string& text) {
  Loaded out;
  FileParser p(file);
  for (auto& m : p.parse(text)) out.models.add(std::move(m));
  out.errors = p.take_errors();
  check_joins(out.models, out.errors);
  return out;
}

ModelSet::Loaded ModelSet::load(const std::filesystem::path& project_dir) {
  Loaded out;
  std::filesystem::path dir = project_dir / "models";
  std::error_code ec;
  std::vector<std::filesystem::path> files = yaml_files(dir, ec);
  for (const auto& f : files) {
    std::string name = "models/" + f.filename().string();
    std::ifstream in(f);
    if (!in) {
      out.errors.push_back(name + ":1: cannot be read");
      continue;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    FileParser p(name);
    for (auto& m : p.parse(ss.str())) out.models.add(std::move(m));
    for (auto& e : p.take_errors()) out.errors.push_back(std::move(e));
  }
  check_joins(out.models, out.errors);
  return out;
}

}  // namespace basalt::semantic
