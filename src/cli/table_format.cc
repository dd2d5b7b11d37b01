#include "cli/table_format.h"

#include <fmt/format.h>

#include <algorithm>

namespace basalt::cli {

namespace {

// A cell's text: strings as they are, NULL as empty (CSV) or "NULL" (table), numbers as JSON.
std::string cell_text(const nlohmann::json& v, bool table) {
  if (v.is_null()) return table ? "NULL" : "";
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

// Display width in code points (good enough for aligned tables of UTF-8 text).
size_t width(const std::string& s) {
  return std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; });
}

}  // namespace

Result<OutputFormat> parse_output_format(const std::string& name) {
  if (name == "table") return OutputFormat::kTable;
  if (name == "csv") return OutputFormat::kCsv;
  if (name == "json") return OutputFormat::kJson;
  return invalid_argument("unknown format '" + name + "' (use table, csv or json)");
}

std::string format_result(const nlohmann::json& result, OutputFormat format) {
  const auto& columns = result.at("columns");
  const auto& rows = result.at("rows");
  std::string out;
  if (format == OutputFormat::kJson) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& row : rows) {
      nlohmann::json obj = nlohmann::json::object();
      for (size_t i = 0; i < columns.size(); ++i) obj[columns[i]["name"].get<std::string>()] = row[i];
      list.push_back(std::move(obj));
    }
    return list.dump() + "\n";
  }
  if (format == OutputFormat::kCsv) {
    for (size_t i = 0; i < columns.size(); ++i) {
      if (i) out += ',';
      out += csv_field(columns[i]["name"].get<std::string>());
    }
    out += "\n";
    for (const auto& row : rows) {
      for (size_t i = 0; i < row.size(); ++i) {
        if (i) out += ',';
        out += csv_field(cell_text(row[i], false));
      }
      out += "\n";
    }
    return out;
  }
  std::vector<size_t> widths;
  for (const auto& c : columns) widths.push_back(width(c["name"].get<std::string>()));
  std::vector<std::vector<std::string>> cells;
  for (const auto& row : rows) {
    auto& line = cells.emplace_back();
    for (size_t i = 0; i < row.size(); ++i) {
      line.push_back(cell_text(row[i], true));
      widths[i] = std::max(widths[i], width(line.back()));
    }
  }
  // One line of cells, each padded to its column's width.
  auto put_line = [&](const std::vector<std::string>& line) {
    for (size_t i = 0; i < line.size(); ++i) {
      out.append(i ? " | " : " ");
      out.append(line[i]);
      out.append(widths[i] - width(line[i]), ' ');
    }
    out += '\n';
  };
  std::vector<std::string> header;
  for (const auto& c : columns) header.push_back(c["name"].get<std::string>());
  put_line(header);
  for (size_t i = 0; i < columns.size(); ++i) {
    out.append(i ? "-+-" : "-");
    out.append(widths[i], '-');
  }
  out += '\n';
  for (const auto& line : cells) put_line(line);
  size_t n = rows.size();
  out += fmt::format("({} {}{})\n", n, n == 1 ? "row" : "rows",
                     result.value("truncated", false) ? ", truncated" : "");
  return out;
}

}  // namespace basalt::cli
