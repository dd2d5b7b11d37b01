#include "common/ids.h"

#include <gtest/gtest.h>

#include <regex>
#include <set>

namespace basalt {
namespace {

TEST(UuidGeneratorTest, MakesVersion4UuidsRepeatablyForASeed) {
  UuidGenerator a(42), b(42);
  std::regex form("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    std::string id = a.next();
    EXPECT_TRUE(std::regex_match(id, form)) << id;
    EXPECT_EQ(id, b.next());
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

}  // namespace
}  // namespace basalt
