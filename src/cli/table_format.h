#pragma once
// Prints a query result (its JSON form, see api/query_json.h) as an aligned table, CSV
// (RFC 4180) or a JSON array of objects.

#include <nlohmann/json.hpp>
#include <string>

#include "common/status.h"

namespace basalt::cli {

enum class OutputFormat { kTable, kCsv, kJson };

Result<OutputFormat> parse_output_format(const std::string& name);
std::string format_result(const nlohmann::json& result, OutputFormat format);

}  // namespace basalt::cli
