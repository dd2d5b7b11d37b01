#pragma once
// Derived-metric expressions: arithmetic over measure and metric names (`revenue / dau`,
// `(payers * 100) / dau`): names, numbers, + - * /, unary minus and parentheses. Nothing else
// is accepted, so an expression can only combine aggregated values.

#include <functional>
#include <string>
#include <vector>

#include "common/status.h"

namespace basalt::semantic {

struct ExprToken {
  enum class Kind { kName, kNumber, kOp, kOpen, kClose };
  Kind kind;
  std::string text;
};

// Tokens of `expr`, checked to form one well-built expression; kInvalidArgument with the
// position of the first problem otherwise.
Result<std::vector<ExprToken>> parse_metric_expr(const std::string& expr);

// The SQL of a parsed expression: each name replaced by `name_sql(name)`, each division by
// `divide(numerator, denominator)` (so a zero denominator gives NULL, not an error).
// REQUIRES: tokens come from parse_metric_expr.
std::string render_metric_expr(
    const std::vector<ExprToken>& tokens,
    const std::function<std::string(const std::string&)>& name_sql,
    const std::function<std::string(const std::string&, const std::string&)>& divide);

}  // namespace basalt::semantic
