#include "semantic/data_api.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "common/project_files.h"

namespace basalt::semantic {

namespace {

using nlohmann::json;

json yaml_to_json(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map: {
      json o = json::object();
      for (const auto& kv : n) o[kv.first.as<std::string>()] = yaml_to_json(kv.second);
      return o;
    }
    case YAML::NodeType::Sequence: {
      json a = json::array();
      for (const auto& x : n) a.push_back(yaml_to_json(x));
      return a;
    }
    case YAML::NodeType::Scalar: {
      std::string s = n.Scalar();
      if (n.Tag() == "!") return s;  // quoted
      if (s == "true") return true;
      if (s == "false") return false;
      if (s == "null" || s == "~") return nullptr;
      int64_t i = 0;
      auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), i);
      if (ec == std::errc() && p == s.data() + s.size()) return i;
      char* end = nullptr;
      double d = std::strtod(s.c_str(), &end);
      if (!s.empty() && end == s.c_str() + s.size()) return d;
      return s;
    }
    default:
      return nullptr;
  }
}

bool is_param_ref(const json& v, std::string& name) {
  if (!v.is_string()) return false;
  const std::string& s = v.get_ref<const std::string&>();
  if (s.size() < 5 || !s.starts_with("{{") || !s.ends_with("}}")) return false;
  name = s.substr(2, s.size() - 4);
  name.erase(0, name.find_first_not_of(' '));
  name.erase(name.find_last_not_of(' ') + 1);
  return true;
}

// Replaces "{{p}}" values by the arguments. An absent parameter's value disappears: from a
// list, its element; from an object, its member, and a filter (an object with "dimension" or
// "metric") that loses a member is dropped whole.
std::optional<json> substitute(const json& t, const std::map<std::string, json>& args) {
  std::string name;
  if (is_param_ref(t, name)) {
    auto it = args.find(name);
    if (it == args.end()) return std::nullopt;
    return it->second;
  }
  if (t.is_array()) {
    json out = json::array();
    for (const auto& x : t) {
      if (auto v = substitute(x, args)) out.push_back(std::move(*v));
    }
    return out;
  }
  if (t.is_object()) {
    json out = json::object();
    bool lost = false;
    for (const auto& [k, x] : t.items()) {
      if (auto v = substitute(x, args)) {
        out[k] = std::move(*v);
      } else {
        lost = true;
      }
    }
    if (lost && (t.contains("dimension") || t.contains("metric"))) return std::nullopt;
    return out;
  }
  return t;
}

json example_of(const ApiParam& p) {
  if (p.default_value) return *p.default_value;
  if (p.type == "int") return static_cast<int64_t>(p.min.value_or(1));
  if (p.type == "number") return p.min.value_or(1.0);
  if (p.type == "bool") return true;
  if (p.type == "date") return "2026-01-01";
  if (!p.allowed.empty()) return p.allowed.front();
  return "x";
}

}  // namespace

const DataApi* DataApiSet::find(const std::string& name) const {
  for (const auto& a : apis_)
    if (a.name == name) return &a;
  return nullptr;
}

DataApiSet::Loaded DataApiSet::parse(const std::string& file, const std::string& text,
                                     const ModelSet& models, const std::string& engine) {
  Loaded out;
  auto err = [&](const YAML::Node& n, const std::string& m) {
    out.errors.push_back(fmt::format("{}:{}: {}", file, n.Mark().line + 1, m));
  };
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAll(text);
  } catch (const YAML::Exception& e) {
    out.errors.push_back(fmt::format("{}:{}: {}", file, e.mark.line + 1, e.msg));
    return out;
  }
  for (const auto& doc : docs) {
    if (doc.IsNull()) continue;
    if (!doc.IsMap()) {
      err(doc, "a data API must be a mapping with 'api' and 'query' or 'sql'");
      continue;
    }
    size_t before = out.errors.size();
    DataApi a;
    a.location = {file, doc.Mark().line + 1};
    static const std::set<std::string> kKeys = {"api",   "description", "owner", "params",
                                                "query", "sql",         "tables"};
    for (const auto& kv : doc) {
      if (!kKeys.contains(kv.first.as<std::string>())) {
        err(kv.first,
            "unknown key '" + kv.first.as<std::string>() +
                "' in a data API (known: api, description, owner, params, query, sql, tables)");
      }
    }
    auto scalar = [&](const char* k) -> std::string {
      if (!doc[k]) return "";
      if (!doc[k].IsScalar()) {
        err(doc[k], std::string("'") + k + "' must be a text value");
        return "";
      }
      return doc[k].as<std::string>();
    };
    a.name = scalar("api");
    if (!is_identifier(a.name))
      err(doc, "'api' must be a name ([A-Za-z_][A-Za-z0-9_]*): it becomes /data/v1/<api>");
    if (out.apis.find(a.name)) err(doc, "data API '" + a.name + "' is defined twice");
    a.description = scalar("description");
    a.owner = scalar("owner");
    a.sql = scalar("sql");
    if (doc["query"]) a.query = yaml_to_json(doc["query"]);
    if (a.sql.empty() == a.query.is_null())
      err(doc, "a data API needs exactly one of 'query' and 'sql'");
    if (doc["tables"]) {
      for (const auto& t : doc["tables"]) a.tables.push_back(t.as<std::string>());
    }
    std::set<std::string> names;
    if (doc["params"] && !doc["params"].IsSequence()) err(doc["params"], "'params' must be a list");
    for (const auto& pn : doc["params"]) {
      ApiParam p;
      if (!pn.IsMap()) {
        err(pn, "each parameter must be a mapping with a name and a type");
        continue;
      }
      for (const auto& kv : pn) {
        static const std::set<std::string> kP = {"name",     "type",       "description",
                                                 "required", "default",    "min",
                                                 "max",      "max_length", "allowed"};
        if (!kP.contains(kv.first.as<std::string>()))
          err(kv.first, "unknown key '" + kv.first.as<std::string>() + "' in a parameter");
      }
      p.name = pn["name"] ? pn["name"].as<std::string>() : "";
      if (!is_identifier(p.name)) err(pn, "a parameter needs a name ([A-Za-z_][A-Za-z0-9_]*)");
      if (p.name == "format") err(pn, "'format' is reserved (json or csv)");
      if (!names.insert(p.name).second) err(pn, "parameter '" + p.name + "' is declared twice");
      if (pn["type"]) p.type = pn["type"].as<std::string>();
      if (p.type != "string" && p.type != "int" && p.type != "number" && p.type != "bool" &&
          p.type != "date") {
        err(pn, "parameter '" + p.name + "': unknown type '" + p.type +
                    "' (known: string, int, number, bool, date)");
      }
      if (pn["description"]) p.description = pn["description"].as<std::string>();
      if (pn["required"]) p.required = pn["required"].as<std::string>() == "true";
      try {
        if (pn["min"]) p.min = pn["min"].as<double>();
        if (pn["max"]) p.max = pn["max"].as<double>();
        if (pn["max_length"]) p.max_length = pn["max_length"].as<size_t>();
      } catch (const YAML::Exception&) {
        err(pn, "parameter '" + p.name + "': min, max and max_length must be numbers");
      }
      if (pn["allowed"]) {
        for (const auto& v : pn["allowed"]) p.allowed.push_back(v.as<std::string>());
      }
      if (pn["default"]) p.default_value = yaml_to_json(pn["default"]);
      a.params.push_back(std::move(p));
    }
    if (out.errors.size() == before && !a.query.is_null()) {
      std::map<std::string, json> ex;
      for (const auto& p : a.params) ex[p.name] = example_of(p);
      auto q = instantiate_query(a, ex);
      if (!q) {
        err(doc["query"], "query: " + q.status().message());
      } else {
        auto tz = domino::TimeZone::utc();
        auto dialect = make_dialect(engine);
        CompileContext ctx{dialect.get(), "UTC", &tz, 1'767'225'600'000'000, 100000};
        auto c = dialect ? compile(*q, models, ctx)
                         : Result<CompiledQuery>(invalid_argument(
                               "the warehouse engine '" + engine + "' has no SQL dialect"));
        if (!c)
          err(doc["query"], "query: " + c.status().message());
        else
          a.tables = c->tables;
      }
    }
    if (out.errors.size() == before && !a.sql.empty()) {
      std::regex ref(R"(\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\})");
      for (auto it = std::sregex_iterator(a.sql.begin(), a.sql.end(), ref);
           it != std::sregex_iterator(); ++it) {
        if (!names.contains((*it)[1].str()))
          err(doc["sql"], "sql names {{" + (*it)[1].str() + "}}, which is no declared parameter");
      }
    }
    if (out.errors.size() == before) out.apis.apis_.push_back(std::move(a));
  }
  return out;
}

DataApiSet::Loaded DataApiSet::load(const std::filesystem::path& project_dir,
                                    const ModelSet& models, const std::string& engine) {
  Loaded out;
  std::filesystem::path dir = project_dir / "apis";
  std::error_code ec;
  std::vector<std::filesystem::path> files = yaml_files(dir, ec);
  for (const auto& f : files) {
    std::ifstream in(f);
    std::stringstream ss;
    ss << in.rdbuf();
    auto one = parse("apis/" + f.filename().string(), ss.str(), models, engine);
    for (auto& a : one.apis.apis_) {
      if (out.apis.find(a.name)) {
        out.errors.push_back(a.location.to_string() + ": data API '" + a.name +
                             "' is defined twice");
        continue;
      }
      out.apis.apis_.push_back(std::move(a));
    }
    for (auto& e : one.errors) out.errors.push_back(std::move(e));
  }
  return out;
}

Result<std::map<std::string, json>> bind_arguments(
    const DataApi& api, const std::vector<std::pair<std::string, std::string>>& args) {
  std::map<std::string, json> out;
  for (const auto& [k, v] : args) {
    if (k == "format") continue;
    auto p = std::find_if(api.params.begin(), api.params.end(),
                          [&](const ApiParam& x) { return x.name == k; });
    if (p == api.params.end()) {
      std::vector<std::string> known;
      for (const auto& x : api.params) known.push_back(x.name);
      return invalid_argument(
          fmt::format("unknown parameter '{}' (known: {})", k,
                      known.empty() ? "none" : fmt::format("{}", fmt::join(known, ", "))));
    }
    if (out.contains(k)) return invalid_argument("parameter '" + k + "' is given twice");
    auto bad = [&](const std::string& why) {
      return invalid_argument("parameter '" + k + "' " + why);
    };
    if (p->type == "int") {
      int64_t i = 0;
      auto [e, ec] = std::from_chars(v.data(), v.data() + v.size(), i);
      if (ec != std::errc() || e != v.data() + v.size()) return bad("must be a whole number");
      if ((p->min && i < *p->min) || (p->max && i > *p->max))
        return bad(fmt::format("must be between {} and {}", p->min.value_or(-9e18),
                               p->max.value_or(9e18)));
      out[k] = i;
    } else if (p->type == "number") {
      char* e = nullptr;
      double d = std::strtod(v.c_str(), &e);
      if (v.empty() || e != v.c_str() + v.size() || !std::isfinite(d))
        return bad("must be a number");
      if ((p->min && d < *p->min) || (p->max && d > *p->max))
        return bad(fmt::format("must be between {} and {}", p->min.value_or(-1e300),
                               p->max.value_or(1e300)));
      out[k] = d;
    } else if (p->type == "bool") {
      if (v != "true" && v != "false") return bad("must be true or false");
      out[k] = v == "true";
    } else if (p->type == "date") {
      static const std::regex kDate(R"(\d{4}-\d{2}-\d{2})");
      if (!std::regex_match(v, kDate)) return bad("must be a date YYYY-MM-DD");
      out[k] = v;
    } else {
      if (v.size() > p->max_length)
        return bad(fmt::format("is longer than {} characters", p->max_length));
      if (!p->allowed.empty() &&
          std::find(p->allowed.begin(), p->allowed.end(), v) == p->allowed.end()) {
        return bad(fmt::format("must be one of {}", fmt::join(p->allowed, ", ")));
      }
      out[k] = v;
    }
  }
  for (const auto& p : api.params) {
    if (out.contains(p.name)) continue;
    if (p.default_value)
      out[p.name] = *p.default_value;
    else if (p.required)
      return invalid_argument("parameter '" + p.name + "' is required");
  }
  return out;
}

Result<Query> instantiate_query(const DataApi& api, const std::map<std::string, json>& args) {
  auto q = substitute(api.query, args);
  if (!q) return invalid_argument("the query template is empty");
  return parse_query(*q);
}

Result<BoundStatement> instantiate_sql(const DataApi& api, const std::map<std::string, json>& args,
                                       const std::function<std::string(size_t)>& placeholder) {
  BoundStatement out;
  static const std::regex ref(R"(\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\})");
  std::string sql;
  auto begin = api.sql.cbegin();
  for (auto it = std::sregex_iterator(api.sql.begin(), api.sql.end(), ref);
       it != std::sregex_iterator(); ++it) {
    sql.append(begin, api.sql.cbegin() + it->position());
    std::string name = (*it)[1].str();
    auto a = args.find(name);
    if (a == args.end() || a->second.is_null()) {
      out.params.emplace_back(std::monostate{});
    } else if (a->second.is_boolean()) {
      out.params.emplace_back(a->second.get<bool>());
    } else if (a->second.is_number_integer()) {
      out.params.emplace_back(a->second.get<int64_t>());
    } else if (a->second.is_number()) {
      out.params.emplace_back(a->second.get<double>());
    } else {
      out.params.emplace_back(a->second.get<std::string>());
    }
    sql += placeholder(out.params.size() - 1);
    begin = api.sql.cbegin() + it->position() + it->length();
  }
  sql.append(begin, api.sql.cend());
  out.sql = std::move(sql);
  return out;
}

json openapi_document(const DataApiSet& apis, const std::string& project) {
  json paths = json::object();
  for (const auto& a : apis.apis()) {
    json params = json::array();
    for (const auto& p : a.params) {
      json schema = {{"type", p.type == "int"      ? "integer"
                              : p.type == "number" ? "number"
                              : p.type == "bool"   ? "boolean"
                                                   : "string"}};
      if (p.type == "date") schema["format"] = "date";
      if (p.min) schema["minimum"] = *p.min;
      if (p.max) schema["maximum"] = *p.max;
      if (p.type == "string") schema["maxLength"] = p.max_length;
      if (!p.allowed.empty()) schema["enum"] = p.allowed;
      if (p.default_value) schema["default"] = *p.default_value;
      params.push_back({{"name", p.name},
                        {"in", "query"},
                        {"required", p.required && !p.default_value},
                        {"description", p.description},
                        {"schema", schema}});
    }
    params.push_back(
        {{"name", "format"},
         {"in", "query"},
         {"required", false},
         {"schema", {{"type", "string"}, {"enum", {"json", "csv"}}, {"default", "json"}}}});
    json responses = {
        {"200",
         {{"description", "the answer"},
          {"content",
           {{"application/json", {{"schema", {{"$ref", "#/components/schemas/Answer"}}}}},
            {"text/csv", {{"schema", {{"type", "string"}}}}}}}}},
        {"400", {{"description", "a parameter breaks its declaration"}}},
        {"401", {{"description", "no or unknown key"}}},
        {"403", {{"description", "the key is not scoped to this API"}}},
        {"429", {{"description", "rate limit of the key; see Retry-After"}}}};
    paths["/data/v1/" + a.name] = {{"get",
                                    {{"operationId", a.name},
                                     {"summary", a.description},
                                     {"parameters", params},
                                     {"responses", responses}}}};
  }
  return {{"openapi", "3.0.3"},
          {"info", {{"title", project + " data APIs"}, {"version", "1"}}},
          {"paths", paths},
          {"components",
           {{"securitySchemes", {{"bearer", {{"type", "http"}, {"scheme", "bearer"}}}}},
            {"schemas",
             {{"Answer",
               {{"type", "object"},
                {"properties",
                 {{"columns", {{"type", "array"}, {"items", {{"type", "object"}}}}},
                  {"rows", {{"type", "array"}, {"items", {{"type", "array"}}}}},
                  {"cached", {{"type", "boolean"}}},
                  {"elapsed_ms", {{"type", "number"}}}}}}}}}}},
          {"security", json::array({{{"bearer", json::array()}}})}};
}

}  // namespace basalt::semantic
