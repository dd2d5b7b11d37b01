#include "common/ids.h"

namespace basalt {

namespace {
uint64_t os_seed() {
  std::random_device rd;
  return (static_cast<uint64_t>(rd()) << 32) ^ rd();
}
}  // namespace

UuidGenerator::UuidGenerator() : rng_(os_seed()) {}

std::string UuidGenerator::next() {
  uint64_t hi = rng_();
  uint64_t lo = rng_();
  hi = (hi & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
  lo = (lo & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // variant 10
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(36, '-');
  int pos = 0;
  auto put = [&](uint64_t v, int nibbles) {
    for (int i = nibbles - 1; i >= 0; --i) {
      if (pos == 8 || pos == 13 || pos == 18 || pos == 23) ++pos;
      out[pos++] = kHex[(v >> (i * 4)) & 0xf];
    }
  };
  put(hi, 16);
  put(lo, 16);
  return out;
}

UuidGenerator& thread_uuid_generator() {
  thread_local UuidGenerator generator;
  return generator;
}

}  // namespace basalt
