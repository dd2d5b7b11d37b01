#include "common/status.h"

#include <gtest/gtest.h>

namespace basalt {
namespace {

TEST(StatusTest, OkByDefault) {
  Status s;
  EXPECT_TRUE(s.is_ok());
  EXPECT_EQ(s.to_string(), "OK");
}

TEST(StatusTest, CodesMapToHttpAndExitCodes) {
  EXPECT_EQ(http_status_of(StatusCode::kInvalidArgument), 400);
  EXPECT_EQ(http_status_of(StatusCode::kUnauthenticated), 401);
  EXPECT_EQ(http_status_of(StatusCode::kPayloadTooLarge), 413);
  EXPECT_EQ(http_status_of(StatusCode::kUnavailable), 503);
  EXPECT_EQ(exit_code_of(StatusCode::kOk), 0);
  EXPECT_NE(exit_code_of(StatusCode::kInternal), 0);
  EXPECT_EQ(invalid_argument("bad").to_string(), "INVALID_ARGUMENT: bad");
}

Result<int> half(int v) {
  if (v % 2) return invalid_argument("odd");
  return v / 2;
}

Status use_half(int v, int& out) {
  auto r = half(v);
  if (!r) return r.status();
  out = *r;
  BASALT_RETURN_IF_ERROR(Status::ok());
  return Status::ok();
}

TEST(ResultTest, HoldsValueOrError) {
  int out = 0;
  EXPECT_TRUE(use_half(4, out).is_ok());
  EXPECT_EQ(out, 2);
  Status s = use_half(3, out);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "odd");
}

}  // namespace
}  // namespace basalt
