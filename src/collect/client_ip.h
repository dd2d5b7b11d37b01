#pragma once
// Which address an event came from, given the connection's peer and X-Forwarded-For.

#include <string>
#include <string_view>
#include <vector>

namespace basalt::collect {

// The peer address, unless the peer is one of `trusted_proxies`: then the right-most address of
// `forwarded_for` that is not itself a trusted proxy (each proxy appends the address it saw, so
// addresses left of the first untrusted one could be forged). When every listed address is
// trusted, the left-most one; when the header is empty, the peer.
std::string client_ip(std::string_view peer, std::string_view forwarded_for,
                      const std::vector<std::string>& trusted_proxies);

}  // namespace basalt::collect
