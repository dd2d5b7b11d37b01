#pragma once
// Random identifiers (UUID version 4) from a seeded generator: one generator per thread, seeded
// from the OS once; tests pass a fixed seed for repeatable ids.

#include <cstdint>
#include <random>
#include <string>

namespace basalt {

class UuidGenerator {
 public:
  explicit UuidGenerator(uint64_t seed) : rng_(seed) {}
  // Seeds from std::random_device.
  UuidGenerator();

  // A version-4 UUID in canonical lower-case text form (36 characters).
  std::string next();

 private:
  std::mt19937_64 rng_;
};

// The calling thread's generator, seeded from the OS on first use.
UuidGenerator& thread_uuid_generator();

}  // namespace basalt
