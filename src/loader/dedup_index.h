#pragma once
// The loader's memory-bounded index of recently loaded (source, message_id) pairs.
//
// Each pair is kept as a 64-bit hash in one open-addressing table (8 bytes a slot, at most 70%
// full: about 11–13 bytes per id at the bound). The low 8 bits of each stored hash are replaced
// by a tag naming the time bucket (one per hour of received_at by default) the id was loaded
// in, so a whole bucket leaves the index in one sweep once it is older than the window, and a
// lookup is one probe sequence whatever the number of buckets.
//
// Collisions: an id is reported as seen when another id within the window shares the 56
// compared hash bits. With n ids indexed, each new event is wrongly dropped with probability
// about n / 2^56: for the default bound of 20 M ids that is 3e-10 per event, i.e. about one
// wrongly dropped event per 3 billion loaded. Exact keys would cost ~10× the memory (the ids
// themselves); a hash this wide is the usual trade for a dedup window of a day.
//
// When the number of ids reaches max_ids, the oldest bucket is dropped before its window ends:
// the effective window shrinks, which evicted_early() counts.
//
// Thread safety: none; the loader thread owns it.

#include <cstdint>
#include <deque>
#include <string_view>
#include <vector>

namespace basalt::loader {

// A set of 64-bit keys, each carrying an 8-bit tag in its low bits, with linear probing.
// Keys are compared on their upper 56 bits.
class TaggedHashSet {
 public:
  // `max_capacity` bounds the table; it grows from a small size by doubling.
  explicit TaggedHashSet(size_t max_capacity);

  // The tag stored for `key`, or -1 when absent.
  int find(uint64_t key) const;
  // Inserts `key` with `tag`, or retags it when present. REQUIRES size() < capacity limit.
  void insert(uint64_t key, uint8_t tag);
  // Removes every key carrying `tag`; returns how many.
  size_t remove_tag(uint8_t tag);
  size_t size() const { return size_; }
  size_t capacity() const { return slots_.size(); }
  void clear();

 private:
  static uint64_t stored(uint64_t key, uint8_t tag);
  size_t home(uint64_t stored_key) const;
  void grow();
  void place(uint64_t stored_key);  // REQUIRES the key is absent and there is room

  size_t max_capacity_;
  std::vector<uint64_t> slots_;  // 0 = empty
  size_t size_ = 0;
};

class DedupIndex {
 public:
  // Ids received within `window_us` of now are kept, at most `max_ids` of them.
  DedupIndex(int64_t window_us, size_t max_ids);

  // The key of one event.
  static uint64_t key_of(std::string_view source, std::string_view message_id);

  bool contains(uint64_t key) const { return set_.find(key) >= 0; }
  // Records `key` as loaded at `received_at_us`. Ids already older than the window are not
  // recorded.
  void insert(uint64_t key, int64_t received_at_us);
  // Drops the buckets wholly older than now − window.
  void expire(int64_t now_us);

  size_t size() const { return set_.size(); }
  // Ids dropped before their window ended because the index was full.
  uint64_t evicted_early() const { return evicted_early_; }
  size_t memory_bytes() const { return set_.capacity() * sizeof(uint64_t); }

 private:
  struct Bucket {
    int64_t index;  // received_at / bucket_us_
    size_t ids;
  };
  void drop_oldest();

  int64_t window_us_;
  int64_t bucket_us_;
  size_t max_ids_;
  int64_t horizon_bucket_ = INT64_MIN;  // buckets below this index are gone
  TaggedHashSet set_;
  std::deque<Bucket> buckets_;  // ascending index; at most 256 apart so tags are unique
  uint64_t evicted_early_ = 0;
};

}  // namespace basalt::loader
