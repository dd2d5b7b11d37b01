#include "collect/client_ip.h"

#include <gtest/gtest.h>

namespace basalt::collect {
namespace {

TEST(ClientIpTest, UntrustedPeerIgnoresForwardedFor) {
  EXPECT_EQ(client_ip("203.0.113.9", "1.2.3.4", {}), "203.0.113.9");
  EXPECT_EQ(client_ip("203.0.113.9", "1.2.3.4", {"10.0.0.1"}), "203.0.113.9");
}

TEST(ClientIpTest, TrustedProxyGivesRightmostUntrustedAddress) {
  std::vector<std::string> trusted = {"10.0.0.1", "10.0.0.2"};
  EXPECT_EQ(client_ip("10.0.0.1", "198.51.100.7", trusted), "198.51.100.7");
  // A client forged the left entry; the proxy chain appended the real one.
  EXPECT_EQ(client_ip("10.0.0.1", "6.6.6.6, 198.51.100.7, 10.0.0.2", trusted), "198.51.100.7");
  EXPECT_EQ(client_ip("10.0.0.1", " 198.51.100.7 ,10.0.0.2 ", trusted), "198.51.100.7");
  EXPECT_EQ(client_ip("10.0.0.1", "10.0.0.2", trusted), "10.0.0.2");
  EXPECT_EQ(client_ip("10.0.0.1", "", trusted), "10.0.0.1");
  EXPECT_EQ(client_ip("10.0.0.1", " , ", trusted), "10.0.0.1");
}

}  // namespace
}  // namespace basalt::collect
