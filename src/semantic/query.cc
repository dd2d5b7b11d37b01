#include "semantic/query.h"

#include <fmt/format.h>

#include <set>

#include "common/status.h"

namespace basalt::semantic {

namespace {

using nlohmann::json;

constexpr std::pair<const char*, FilterOp> kOps[] = {{"=", FilterOp::kEq},
                                                     {"!=", FilterOp::kNe},
                                                     {"in", FilterOp::kIn},
                                                     {"not_in", FilterOp::kNotIn},
                                                     {">", FilterOp::kGt},
                                                     {">=", FilterOp::kGe},
                                                     {"<", FilterOp::kLt},
                                                     {"<=", FilterOp::kLe},
                                                     {"between", FilterOp::kBetween},
                                                     {"contains", FilterOp::kContains},
                                                     {"starts_with", FilterOp::kStartsWith},
                                                     {"is_null", FilterOp::kIsNull},
                                                     {"is_not_null", FilterOp::kIsNotNull}};

constexpr std::pair<const char*, Grain> kGrains[] = {
    {"minute", Grain::kMinute}, {"hour", Grain::kHour},   {"day", Grain::kDay},
    {"week", Grain::kWeek},     {"month", Grain::kMonth}, {"quarter", Grain::kQuarter},
    {"year", Grain::kYear}};

Status bad(const std::string& m) { return invalid_argument(m); }

Result<std::string> name_of(const json& v, const std::string& where) {
  if (!v.is_string() || v.get<std::string>().empty()) {
    return bad(where + " must be a non-empty string");
  }
  return v.get<std::string>();
}

Result<std::vector<std::string>> names_of(const json& body, const char* key) {
  std::vector<std::string> out;
  if (!body.contains(key)) return out;
  const json& v = body[key];
  if (!v.is_array()) return bad(fmt::format("\"{}\" must be a list of names", key));
  for (size_t i = 0; i < v.size(); ++i) {
    auto n = name_of(v[i], fmt::format("\"{}\"[{}]", key, i));
    if (!n) return n.status();
    out.push_back(*n);
  }
  return out;
}

Result<warehouse::Value> value_of(const json& v, const std::string& where) {
  if (v.is_string()) return warehouse::Value(v.get<std::string>());
  if (v.is_boolean()) return warehouse::Value(v.get<bool>());
  if (v.is_number_integer()) {
    if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
      return bad(where + " is too large");
    }
    return warehouse::Value(v.get<int64_t>());
  }
  if (v.is_number_float()) return warehouse::Value(v.get<double>());
  return bad(where + " must be a string, number or boolean");
}

Result<Grain> grain_of(const json& v, const std::string& where) {
  if (v.is_string()) {
    for (const auto& [n, g] : kGrains)
      if (v.get<std::string>() == n) return g;
  }
  return bad(where + " must be one of minute, hour, day, week, month, quarter, year");
}

Result<std::vector<Filter>> filters_of(const json& v, const std::string& where) {
  std::vector<Filter> out;
  if (!v.is_array()) return bad(where + " must be a list of filters");
  for (size_t i = 0; i < v.size(); ++i) {
    std::string at = fmt::format("{}[{}]", where, i);
    const json& f = v[i];
    if (!f.is_object())
      return bad(at + " must be an object like {\"dimension\":…,\"op\":…,\"values\":[…]}");
    for (const auto& [k, _] : f.items()) {
      if (k != "dimension" && k != "metric" && k != "op" && k != "values" && k != "value") {
        return bad(
            fmt::format("{} has an unknown member \"{}\" (known: dimension, metric, op, "
                        "values, value)",
                        at, k));
      }
    }
    Filter filter;
    if (f.contains("dimension") == f.contains("metric")) {
      return bad(at + " needs exactly one of \"dimension\" and \"metric\"");
    }
    filter.on_metric = f.contains("metric");
    auto n = name_of(f[filter.on_metric ? "metric" : "dimension"],
                     at + (filter.on_metric ? ".metric" : ".dimension"));
    if (!n) return n.status();
    filter.field = *n;
    if (!f.contains("op") || !f["op"].is_string()) return bad(at + ".op must be a string");
    std::string op = f["op"].get<std::string>();
    bool known = false;
    for (const auto& [name, o] : kOps) {
      if (op == name) {
        filter.op = o;
        known = true;
      }
    }
    if (!known) {
      return bad(
          fmt::format("{}.op '{}' is unknown (known: = != in not_in > >= < <= between "
                      "contains starts_with is_null is_not_null)",
                      at, op));
    }
    if (f.contains("value") && f.contains("values"))
      return bad(at + " takes \"value\" or \"values\", not both");
    json values = f.contains("values") ? f["values"] : json::array();
    if (f.contains("value")) values = json::array({f["value"]});
    if (!values.is_array()) return bad(at + ".values must be a list");
    for (size_t j = 0; j < values.size(); ++j) {
      auto val = value_of(values[j], fmt::format("{}.values[{}]", at, j));
      if (!val) return val.status();
      filter.values.push_back(*val);
    }
    size_t nv = filter.values.size();
    switch (filter.op) {
      case FilterOp::kIsNull:
      case FilterOp::kIsNotNull:
        if (nv != 0) return bad(fmt::format("{}: '{}' takes no values", at, op));
        break;
      case FilterOp::kIn:
      case FilterOp::kNotIn:
        if (nv == 0 || nv > 1000)
          return bad(fmt::format("{}: '{}' takes 1 to 1000 values", at, op));
        break;
      case FilterOp::kBetween:
        if (nv != 2) return bad(fmt::format("{}: 'between' takes two values [low, high]", at));
        break;
      default:
        if (nv != 1) return bad(fmt::format("{}: '{}' takes one value", at, op));
    }
    if ((filter.op == FilterOp::kContains || filter.op == FilterOp::kStartsWith) &&
        !std::holds_alternative<std::string>(filter.values[0])) {
      return bad(fmt::format("{}: '{}' takes a string", at, op));
    }
    out.push_back(std::move(filter));
  }
  return out;
}

Result<FunnelStep> step_of(const json& v, const std::string& where) {
  FunnelStep s;
  if (v.is_string()) {
    s.event = v.get<std::string>();
    return s;
  }
  if (!v.is_object()) return bad(where + " must be an event name or {\"event\":…,\"filters\":[…]}");
  for (const auto& [k, _] : v.items()) {
    if (k != "event" && k != "filters") {
      return bad(fmt::format("{} has an unknown member \"{}\" (known: event, filters)", where, k));
    }
  }
  if (v.contains("event")) {
    auto n = name_of(v["event"], where + ".event");
    if (!n) return n.status();
    s.event = *n;
  }
  if (v.contains("filters")) {
    auto f = filters_of(v["filters"], where + ".filters");
    if (!f) return f.status();
    s.filters = std::move(*f);
  }
  if (s.event.empty() && s.filters.empty()) return bad(where + " needs an event or filters");
  return s;
}

Result<int64_t> seconds_of(const json& v, const std::string& where) {
  if (v.is_number_unsigned()) return v.get<int64_t>();
  if (v.is_string()) {
    std::string s = v.get<std::string>();
    size_t i = 0;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
    if (i > 0 && i < 10) {
      int64_t n = std::stoll(s.substr(0, i));
      std::string unit = s.substr(i);
      if (unit == "s") return n;
      if (unit == "m") return n * 60;
      if (unit == "h") return n * 3600;
      if (unit == "d") return n * 86400;
    }
  }
  return bad(where + " must be a number of seconds or a duration like \"30m\", \"2h\", \"7d\"");
}

}  // namespace

const char* filter_op_name(FilterOp op) {
  for (const auto& [n, o] : kOps)
    if (o == op) return n;
  return "?";
}

Result<Query> parse_query(const json& body) {
  if (!body.is_object()) return bad("the query must be a JSON object");
  static const std::set<std::string> kKnown = {
      "type",   "model",   "metrics", "dimensions", "time",      "filters", "compare",
      "order",  "limit",   "steps",   "window",     "breakdown", "start",   "return",
      "period", "periods", "measure", "buckets",    "format",    "async",   "timeout_ms"};
  for (const auto& [k, _] : body.items()) {
    if (!kKnown.contains(k)) return bad(fmt::format("unknown member \"{}\" in the query", k));
  }
  Query q;
  if (body.contains("type")) {
    if (!body["type"].is_string()) return bad("\"type\" must be a string");
    std::string t = body["type"].get<std::string>();
    if (t == "metrics")
      q.type = QueryType::kMetrics;
    else if (t == "funnel")
      q.type = QueryType::kFunnel;
    else if (t == "retention")
      q.type = QueryType::kRetention;
    else if (t == "distribution")
      q.type = QueryType::kDistribution;
    else if (t == "activity")
      q.type = QueryType::kActivity;
    else
      return bad("\"type\" '" + t +
                 "' is unknown (known: metrics, funnel, retention, distribution, activity)");
  }
  if (!body.contains("model")) return bad("\"model\" is required");
  auto model = name_of(body["model"], "\"model\"");
  if (!model) return model.status();
  q.model = *model;
  auto metrics = names_of(body, "metrics");
  if (!metrics) return metrics.status();
  q.metrics = std::move(*metrics);
  auto dims = names_of(body, "dimensions");
  if (!dims) return dims.status();
  q.dimensions = std::move(*dims);
  if (q.metrics.size() > 50 || q.dimensions.size() > 20) {
    return bad("at most 50 metrics and 20 dimensions per query");
  }
  if (body.contains("time")) {
    const json& t = body["time"];
    if (!t.is_object())
      return bad(
          "\"time\" must be an object like "
          "{\"range\":[\"2026-10-01\",\"2026-10-31\"],\"grain\":\"day\"}");
    for (const auto& [k, _] : t.items()) {
      if (k != "range" && k != "grain")
        return bad("unknown member \"" + k + "\" in \"time\" (known: range, grain)");
    }
    TimeSpec ts;
    if (!t.contains("range"))
      return bad("\"time.range\" is required: [start, end] or a name like \"last_7_days\"");
    const json& r = t["range"];
    if (r.is_string()) {
      ts.relative = r.get<std::string>();
    } else if (r.is_array() && r.size() == 2 && r[0].is_string() && r[1].is_string()) {
      ts.start = r[0].get<std::string>();
      ts.end = r[1].get<std::string>();
    } else {
      return bad(
          "\"time.range\" must be [start, end] (dates or local times) or a name like "
          "\"last_7_days\"");
    }
    if (t.contains("grain")) {
      auto g = grain_of(t["grain"], "\"time.grain\"");
      if (!g) return g.status();
      ts.grain = *g;
    }
    q.time = ts;
  }
  if (body.contains("filters")) {
    auto f = filters_of(body["filters"], "\"filters\"");
    if (!f) return f.status();
    q.filters = std::move(*f);
  }
  if (body.contains("compare")) {
    const json& c = body["compare"];
    std::string s = c.is_string() ? c.get<std::string>() : "";
    if (s == "previous_period")
      q.compare = Compare::kPreviousPeriod;
    else if (s == "same_period_last_week")
      q.compare = Compare::kSamePeriodLastWeek;
    else if (s == "same_period_last_year")
      q.compare = Compare::kSamePeriodLastYear;
    else if (!c.is_null())
      return bad(
          "\"compare\" must be previous_period, same_period_last_week or same_period_last_year");
  }
  if (body.contains("order")) {
    const json& o = body["order"];
    if (!o.is_array())
      return bad("\"order\" must be a list like [{\"metric\":\"revenue\",\"desc\":true}]");
    for (size_t i = 0; i < o.size(); ++i) {
      std::string at = fmt::format("\"order\"[{}]", i);
      if (!o[i].is_object()) return bad(at + " must be an object");
      OrderBy ob;
      int named = 0;
      for (const auto& [k, v] : o[i].items()) {
        if (k == "metric" || k == "dimension" || k == "field") {
          auto n = name_of(v, at + "." + k);
          if (!n) return n.status();
          ob.field = *n;
          ++named;
        } else if (k == "desc") {
          if (!v.is_boolean()) return bad(at + ".desc must be true or false");
          ob.desc = v.get<bool>();
        } else {
          return bad(at + " has an unknown member \"" + k + "\" (known: metric, dimension, desc)");
        }
      }
      if (named != 1) return bad(at + " needs one of \"metric\" and \"dimension\"");
      q.order.push_back(ob);
    }
  }
  if (body.contains("limit")) {
    const json& l = body["limit"];
    if (!l.is_number_unsigned() || l.get<uint64_t>() == 0)
      return bad("\"limit\" must be a positive whole number");
    q.limit = l.get<uint64_t>();
  }
  if (body.contains("steps")) {
    const json& s = body["steps"];
    if (!s.is_array()) return bad("\"steps\" must be a list");
    for (size_t i = 0; i < s.size(); ++i) {
      auto st = step_of(s[i], fmt::format("\"steps\"[{}]", i));
      if (!st) return st.status();
      q.steps.push_back(std::move(*st));
    }
  }
  if (body.contains("window")) {
    auto w = seconds_of(body["window"], "\"window\"");
    if (!w) return w.status();
    if (*w <= 0 || *w > 366 * 86400) return bad("\"window\" must be between 1 second and 366 days");
    q.window_seconds = *w;
  }
  if (body.contains("breakdown")) {
    auto b = name_of(body["breakdown"], "\"breakdown\"");
    if (!b) return b.status();
    q.breakdown = *b;
  }
  if (body.contains("start")) {
    auto st = step_of(body["start"], "\"start\"");
    if (!st) return st.status();
    q.start = std::move(*st);
  }
  if (body.contains("return")) {
    auto st = step_of(body["return"], "\"return\"");
    if (!st) return st.status();
    q.returning = std::move(*st);
  }
  if (body.contains("period")) {
    auto g = grain_of(body["period"], "\"period\"");
    if (!g) return g.status();
    if (*g != Grain::kDay && *g != Grain::kWeek && *g != Grain::kMonth) {
      return bad("\"period\" must be day, week or month");
    }
    q.period = *g;
  }
  if (body.contains("periods")) {
    const json& p = body["periods"];
    if (!p.is_number_unsigned() || p.get<uint64_t>() < 1 || p.get<uint64_t>() > 366) {
      return bad("\"periods\" must be a whole number from 1 to 366");
    }
    q.periods = p.get<int>();
  }
  if (body.contains("measure")) {
    auto m = name_of(body["measure"], "\"measure\"");
    if (!m) return m.status();
    q.measure = *m;
  }
  if (body.contains("buckets")) {
    const json& b = body["buckets"];
    if (!b.is_array() || b.empty() || b.size() > 100)
      return bad("\"buckets\" must be a list of 1 to 100 increasing numbers");
    for (size_t i = 0; i < b.size(); ++i) {
      if (!b[i].is_number()) return bad(fmt::format("\"buckets\"[{}] must be a number", i));
      double v = b[i].get<double>();
      if (!q.buckets.empty() && v <= q.buckets.back()) return bad("\"buckets\" must be increasing");
      q.buckets.push_back(v);
    }
  }
  return q;
}

std::string normalised_query(const json& body) {
  json copy = body;
  if (copy.is_object()) {
    copy.erase("format");
    copy.erase("async");
    copy.erase("timeout_ms");
  }
  return copy.dump();  // nlohmann's object keeps keys sorted: member order never matters
}

}  // namespace basalt::semantic
