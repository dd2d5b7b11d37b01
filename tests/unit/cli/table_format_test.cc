#include "cli/table_format.h"

#include <gtest/gtest.h>

namespace basalt::cli {
namespace {

const nlohmann::json kResult = nlohmann::json::parse(R"({
  "columns":[{"name":"name","type":"VARCHAR"},{"name":"n","type":"BIGINT"}],
  "rows":[["a,b",1],[null,22],["say \"hi\"",3]],
  "truncated":false})");

TEST(TableFormatTest, Csv) {
  EXPECT_EQ(format_result(kResult, OutputFormat::kCsv),
            "name,n\n\"a,b\",1\n,22\n\"say \"\"hi\"\"\",3\n");
}

TEST(TableFormatTest, Json) {
  EXPECT_EQ(nlohmann::json::parse(format_result(kResult, OutputFormat::kJson)),
            nlohmann::json::parse(R"([{"name":"a,b","n":1},{"name":null,"n":22},
                                      {"name":"say \"hi\"","n":3}])"));
}

TEST(TableFormatTest, AlignedTable) {
  EXPECT_EQ(format_result(kResult, OutputFormat::kTable),
            " name     | n \n"
            "----------+---\n"
            " a,b      | 1 \n"
            " NULL     | 22\n"
            " say \"hi\" | 3 \n"
            "(3 rows)\n");
}

TEST(TableFormatTest, UnknownFormat) {
  EXPECT_FALSE(parse_output_format("xml").is_ok());
  EXPECT_EQ(*parse_output_format("csv"), OutputFormat::kCsv);
}

}  // namespace
}  // namespace basalt::cli
