#include "domino/template.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <optional>

#include "domino/time_zone.h"

namespace basalt::domino {

namespace {

const std::set<std::string> kNames = {
    "ds",       "ds_nodash",           "ts",    "ts_nodash", "logical_date", "data_interval_start",
    "data_interval_end", "prev_ds", "next_ds", "run_id",    "dag",          "task"};

std::string trim(std::string_view s) {
  auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return "";
  auto e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

bool is_ident(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return isalnum(static_cast<unsigned char>(c)) || c == '_';
  }) && !isdigit(static_cast<unsigned char>(s[0]));
}

// Evaluates one expression. With `context` null it only checks the expression.
Result<std::string> evaluate(const std::string& expr, const TemplateContext* context,
                             const std::set<std::string>* param_names) {
  if (expr.rfind("macros.", 0) == 0) {
    const std::string prefix = "macros.ds_add(";
    if (expr.rfind(prefix, 0) != 0 || expr.back() != ')') {
      return invalid_argument(fmt::format("unknown macro in '{}' (known: macros.ds_add(ds, N))", expr));
    }
    std::string args = expr.substr(prefix.size(), expr.size() - prefix.size() - 1);
    auto comma = args.find(',');
    if (comma == std::string::npos) {
      return invalid_argument(fmt::format("macros.ds_add takes (date, days) in '{}'", expr));
    }
    std::string date_arg = trim(args.substr(0, comma));
    std::string days_arg = trim(args.substr(comma + 1));
    int days = 0;
    auto [end, ec] = std::from_chars(days_arg.data(), days_arg.data() + days_arg.size(), days);
    if (days_arg.empty() || ec != std::errc() || end != days_arg.data() + days_arg.size()) {
      return invalid_argument(fmt::format("'{}' is not a whole number of days in '{}'", days_arg, expr));
    }
    std::string date;
    if (date_arg.size() >= 2 && (date_arg.front() == '\'' || date_arg.front() == '"') &&
        date_arg.back() == date_arg.front()) {
      date = date_arg.substr(1, date_arg.size() - 2);
      auto check = ds_add(date, 0);
      if (!check) return check.status();
    } else {
      if (date_arg != "ds" && date_arg != "prev_ds" && date_arg != "next_ds") {
        return invalid_argument(fmt::format(
            "macros.ds_add needs ds, prev_ds, next_ds or a quoted date, not '{}'", date_arg));
      }
      if (!context) return std::string();
      auto it = context->vars.find(date_arg);
      if (it == context->vars.end()) return invalid_argument(date_arg + " is not set");
      date = it->second;
    }
    if (!context) return std::string();
    return ds_add(date, days);
  }
  if (expr.rfind("params.", 0) == 0) {
    std::string key = expr.substr(7);
    if (!is_ident(key)) return invalid_argument(fmt::format("bad parameter name in '{}'", expr));
    if (param_names && !param_names->contains(key)) {
      return invalid_argument(fmt::format("unknown parameter '{}' (declare it under params:)", key));
    }
    if (!context) return std::string();
    if (!context->params.contains(key)) return invalid_argument(fmt::format("parameter '{}' is not set", key));
    const auto& v = context->params[key];
    return v.is_string() ? v.get<std::string>() : v.dump();
  }
  if (!kNames.contains(expr)) {
    std::string known;
    for (const auto& n : kNames) known += (known.empty() ? "" : ", ") + n;
    return invalid_argument(fmt::format(
        "unknown template name '{}' (known: {}, params.<key>, macros.ds_add(ds, N))", expr, known));
  }
  if (!context) return std::string();
  auto it = context->vars.find(expr);
  if (it == context->vars.end()) return invalid_argument(fmt::format("'{}' is not set", expr));
  return it->second;
}

// Walks the placeholders; calls `on_expr(expr, offset)` for each.
template <typename F>
Status walk(const std::string& text, std::string* out, F&& on_expr) {
  size_t pos = 0;
  while (true) {
    auto open = text.find("{{", pos);
    if (open == std::string::npos) {
      if (out) out->append(text, pos);
      return Status::ok();
    }
    if (out) out->append(text, pos, open - pos);
    auto close = text.find("}}", open + 2);
    if (close == std::string::npos) {
      return invalid_argument(fmt::format("@{} '{{{{' without a closing '}}}}'", open));
    }
    std::string expr = trim(std::string_view(text).substr(open + 2, close - open - 2));
    auto r = on_expr(expr, open);
    if (!r) return invalid_argument(fmt::format("@{} {}", open, r.status().message()));
    if (out) out->append(*r);
    pos = close + 2;
  }
}

}  // namespace

Result<std::string> ds_add(const std::string& date, int days) {
  auto t = parse_time(date, TimeZone::utc());
  if (!t || date.size() != 10) return invalid_argument(fmt::format("'{}' is not a YYYY-MM-DD date", date));
  return format_date(*t + int64_t{days} * 86400, TimeZone::utc());
}

std::optional<TemplateError> check_template(const std::string& text,
                                            const std::set<std::string>& param_names) {
  Status s = walk(text, nullptr, [&](const std::string& expr, size_t) {
    return evaluate(expr, nullptr, &param_names);
  });
  if (s.is_ok()) return std::nullopt;
  // The message starts with "@offset ".
  const std::string& m = s.message();
  auto space = m.find(' ');
  size_t offset = std::stoul(m.substr(1, space - 1));
  return TemplateError{m.substr(space + 1),
                       static_cast<int>(std::count(text.begin(), text.begin() + offset, '\n'))};
}

Result<std::string> render_template(const std::string& text, const TemplateContext& context) {
  std::string out;
  Status s = walk(text, &out, [&](const std::string& expr, size_t) {
    return evaluate(expr, &context, nullptr);
  });
  if (!s.is_ok()) {
    auto space = s.message().find(' ');
    return invalid_argument(s.message().substr(space + 1));
  }
  return out;
}

Result<nlohmann::json> render_json(const nlohmann::json& value, const TemplateContext& context) {
  if (value.is_string()) {
    auto r = render_template(value.get<std::string>(), context);
    if (!r) return r.status();
    return nlohmann::json(*r);
  }
  if (value.is_array() || value.is_object()) {
    nlohmann::json out = value;
    for (auto& [k, v] : out.items()) {
      auto r = render_json(v, context);
      if (!r) return r.status();
      v = *r;
    }
    return out;
  }
  return value;
}

}  // namespace basalt::domino
