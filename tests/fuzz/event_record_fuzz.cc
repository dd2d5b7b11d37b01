// Fuzzes the event record decoders: arbitrary bytes give an error or a value that encodes back
// to the same bytes.

#include <cstddef>
#include <cstdint>
#include <string>

#include "event/event.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace basalt::event;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  if (auto e = decode_event(in); e.is_ok()) {
    std::string again;
    encode(*e, again);
    if (decode_event(again).value() != *e) __builtin_trap();
  }
  if (auto q = decode_quarantined(in); q.is_ok()) {
    std::string again;
    encode(*q, again);
    if (decode_quarantined(again).value() != *q) __builtin_trap();
  }
  return 0;
}
