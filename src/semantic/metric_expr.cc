#include "semantic/metric_expr.h"

#include <cctype>

namespace basalt::semantic {

namespace {

using Kind = ExprToken::Kind;

// Recursive descent over tokens; with `out` null it only checks.
class ExprWriter {
 public:
  using NameFn = std::function<std::string(const std::string&)>;
  using DivideFn = std::function<std::string(const std::string&, const std::string&)>;
  ExprWriter(const std::vector<ExprToken>& t, const NameFn* name, const DivideFn* divide)
      : t_(t), name_(name), divide_(divide) {}

  Result<std::string> all() {
    auto e = expr();
    if (!e) return e;
    if (i_ != t_.size()) return invalid_argument("unexpected '" + t_[i_].text + "'");
    return e;
  }

 private:
  Result<std::string> expr() {
    auto left = term();
    if (!left) return left;
    std::string s = *left;
    while (i_ < t_.size() && t_[i_].kind == Kind::kOp &&
           (t_[i_].text == "+" || t_[i_].text == "-")) {
      std::string op = t_[i_++].text;
      auto right = term();
      if (!right) return right;
      s = s + " " + op + " " + *right;
    }
    return s;
  }
  Result<std::string> term() {
    auto left = factor();
    if (!left) return left;
    std::string s = *left;
    while (i_ < t_.size() && t_[i_].kind == Kind::kOp &&
           (t_[i_].text == "*" || t_[i_].text == "/")) {
      std::string op = t_[i_++].text;
      auto right = factor();
      if (!right) return right;
      if (op == "/" && divide_) {
        s = (*divide_)(s, *right);
      } else {
        s = s + " " + op + " " + *right;
      }
    }
    return s;
  }
  Result<std::string> factor() {
    if (i_ >= t_.size()) return invalid_argument("the expression ends too early");
    const ExprToken& t = t_[i_++];
    switch (t.kind) {
      case Kind::kNumber:
        return t.text;
      case Kind::kName:
        return name_ ? (*name_)(t.text) : t.text;
      case Kind::kOpen: {
        auto e = expr();
        if (!e) return e;
        if (i_ >= t_.size() || t_[i_].kind != Kind::kClose) return invalid_argument("missing ')'");
        ++i_;
        return "(" + *e + ")";
      }
      case Kind::kOp:
        if (t.text == "-") {
          auto f = factor();
          if (!f) return f;
          return "-" + *f;
        }
        return invalid_argument("unexpected '" + t.text + "'");
      case Kind::kClose:
        return invalid_argument("unexpected ')'");
    }
    return invalid_argument("unexpected token");
  }

  const std::vector<ExprToken>& t_;
  const NameFn* name_;
  const DivideFn* divide_;
  size_t i_ = 0;
};

}  // namespace

Result<std::vector<ExprToken>> parse_metric_expr(const std::string& expr) {
  std::vector<ExprToken> out;
  size_t i = 0;
  while (i < expr.size()) {
    unsigned char c = static_cast<unsigned char>(expr[i]);
    if (std::isspace(c)) {
      ++i;
    } else if (std::isalpha(c) || c == '_') {
      size_t j = i;
      while (j < expr.size() &&
             (std::isalnum(static_cast<unsigned char>(expr[j])) || expr[j] == '_'))
        ++j;
      out.push_back({Kind::kName, expr.substr(i, j - i)});
      i = j;
    } else if (std::isdigit(c) || c == '.') {
      size_t j = i;
      bool dot = false;
      while (j < expr.size() &&
             (std::isdigit(static_cast<unsigned char>(expr[j])) || (expr[j] == '.' && !dot))) {
        if (expr[j] == '.') dot = true;
        ++j;
      }
      std::string n = expr.substr(i, j - i);
      if (n == ".") return invalid_argument("a lone '.' at position " + std::to_string(i + 1));
      out.push_back({Kind::kNumber, n});
      i = j;
    } else if (c == '+' || c == '-' || c == '*' || c == '/') {
      out.push_back({Kind::kOp, std::string(1, static_cast<char>(c))});
      ++i;
    } else if (c == '(') {
      out.push_back({Kind::kOpen, "("});
      ++i;
    } else if (c == ')') {
      out.push_back({Kind::kClose, ")"});
      ++i;
    } else {
      return invalid_argument("character '" + std::string(1, static_cast<char>(c)) +
                              "' at position " + std::to_string(i + 1) +
                              " is not allowed (only names, numbers, + - * / and parentheses)");
    }
  }
  if (out.empty()) return invalid_argument("the expression is empty");
  ExprWriter check(out, nullptr, nullptr);
  auto r = check.all();
  if (!r) return r.status();
  return out;
}

std::string render_metric_expr(
    const std::vector<ExprToken>& tokens,
    const std::function<std::string(const std::string&)>& name_sql,
    const std::function<std::string(const std::string&, const std::string&)>& divide) {
  ExprWriter w(tokens, &name_sql, &divide);
  auto r = w.all();
  return r ? *r : std::string();
}

}  // namespace basalt::semantic
