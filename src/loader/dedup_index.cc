#include "loader/dedup_index.h"

#include <algorithm>
#include <cassert>
#include <functional>
#include <string>

namespace basalt::loader {

namespace {

constexpr uint64_t kHashMask = ~uint64_t{0xFF};
constexpr size_t kInitialCapacity = 1024;
// Grow past 70% full: linear probing stays short below that.
constexpr size_t kLoadNumerator = 7;
constexpr size_t kLoadDenominator = 10;

uint64_t mix(uint64_t x) {  // the splitmix64 finaliser: every input bit moves every output bit
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  x ^= x >> 31;
  return x;
}

size_t pow2_at_least(size_t n) {
  size_t p = 1;
  while (p < n) p <<= 1;
  return p;
}

}  // namespace

// ---- TaggedHashSet ----

TaggedHashSet::TaggedHashSet(size_t max_capacity)
    : max_capacity_(pow2_at_least(std::max(max_capacity, kInitialCapacity))),
      slots_(kInitialCapacity, 0) {}

uint64_t TaggedHashSet::stored(uint64_t key, uint8_t tag) {
  uint64_t h = key & kHashMask;
  if (h == 0) h = 0x100;  // 0 marks an empty slot
  return h | tag;
}

size_t TaggedHashSet::home(uint64_t stored_key) const {
  return static_cast<size_t>(mix(stored_key & kHashMask)) & (slots_.size() - 1);
}

int TaggedHashSet::find(uint64_t key) const {
  uint64_t want = stored(key, 0) & kHashMask;
  size_t mask = slots_.size() - 1;
  for (size_t i = home(want);; i = (i + 1) & mask) {
    uint64_t s = slots_[i];
    if (s == 0) return -1;
    if ((s & kHashMask) == want) return static_cast<int>(s & 0xFF);
  }
}

void TaggedHashSet::insert(uint64_t key, uint8_t tag) {
  uint64_t v = stored(key, tag);
  size_t mask = slots_.size() - 1;
  for (size_t i = home(v);; i = (i + 1) & mask) {
    uint64_t s = slots_[i];
    if (s == 0) break;
    if ((s & kHashMask) == (v & kHashMask)) {
      slots_[i] = v;
      return;
    }
  }
  if ((size_ + 1) * kLoadDenominator > slots_.size() * kLoadNumerator &&
      slots_.size() < max_capacity_) {
    grow();
  }
  assert(size_ + 1 < slots_.size() && "the dedup index bounds its ids below its capacity");
  place(v);
  ++size_;
}

void TaggedHashSet::place(uint64_t v) {
  size_t mask = slots_.size() - 1;
  size_t i = home(v);
  while (slots_[i] != 0) i = (i + 1) & mask;
  slots_[i] = v;
}

void TaggedHashSet::grow() {
  std::vector<uint64_t> old(slots_.size() * 2, 0);
  old.swap(slots_);
  for (uint64_t v : old) {
    if (v != 0) place(v);
  }
}

size_t TaggedHashSet::remove_tag(uint8_t tag) {
  // Bulk deletion under linear probing, in place: (1) find a slot that is empty now, so no
  // probe sequence crosses it; (2) empty every slot with the tag; (3) walking once around the
  // table from that slot, take out each remaining key and place it again. Keys only move
  // backwards within their own run, and every slot a moved key skips over was already
  // visited, so every key stays reachable from its home slot.
  size_t n = slots_.size();
  size_t anchor = 0;
  while (slots_[anchor] != 0) ++anchor;  // exists: the table is never full
  size_t removed = 0;
  for (uint64_t& s : slots_) {
    if (s != 0 && (s & 0xFF) == tag) {
      s = 0;
      ++removed;
    }
  }
  if (removed == 0) return 0;
  for (size_t k = 1; k <= n; ++k) {
    size_t i = (anchor + k) & (n - 1);
    uint64_t v = slots_[i];
    if (v == 0) continue;
    slots_[i] = 0;
    place(v);
  }
  size_ -= removed;
  return removed;
}

void TaggedHashSet::clear() {
  std::fill(slots_.begin(), slots_.end(), 0);
  size_ = 0;
}

// ---- DedupIndex ----

DedupIndex::DedupIndex(int64_t window_us, size_t max_ids)
    : window_us_(std::max<int64_t>(window_us, 1)),
      // One bucket an hour, wider when the window is so long that 200 hours do not cover it.
      bucket_us_(std::max<int64_t>(3600'000'000, (window_us_ + 199) / 200)),
      max_ids_(std::max<size_t>(max_ids, 1)),
      set_(pow2_at_least(max_ids_ * kLoadDenominator / kLoadNumerator + 2)) {}

uint64_t DedupIndex::key_of(std::string_view source, std::string_view message_id) {
  std::hash<std::string_view> h;
  return mix(h(source) * 0x9e3779b97f4a7c15ull ^ h(message_id));
}

void DedupIndex::insert(uint64_t key, int64_t received_at_us) {
  int64_t b = received_at_us >= 0 ? received_at_us / bucket_us_
                                  : -((-received_at_us + bucket_us_ - 1) / bucket_us_);
  if (b < horizon_bucket_) return;  // already outside the window
  if (!buckets_.empty() && b < buckets_.back().index - 255) return;  // would reuse a live tag
  while (!buckets_.empty() && b > buckets_.front().index + 255) drop_oldest();

  int old_tag = set_.find(key);
  if (old_tag >= 0) {
    // Seen again: keep it under the newer of its two buckets.
    auto it = std::find_if(buckets_.begin(), buckets_.end(), [&](const Bucket& x) {
      return static_cast<uint8_t>(x.index) == static_cast<uint8_t>(old_tag);
    });
    if (it != buckets_.end() && it->index >= b) return;
    if (it != buckets_.end()) --it->ids;
  } else {
    while (set_.size() >= max_ids_ && !buckets_.empty()) drop_oldest();
  }
  auto it = std::lower_bound(buckets_.begin(), buckets_.end(), b,
                             [](const Bucket& x, int64_t v) { return x.index < v; });
  if (it == buckets_.end() || it->index != b) it = buckets_.insert(it, Bucket{b, 0});
  ++it->ids;
  set_.insert(key, static_cast<uint8_t>(b));
}

void DedupIndex::expire(int64_t now_us) {
  int64_t horizon = now_us - window_us_;
  while (!buckets_.empty() && (buckets_.front().index + 1) * bucket_us_ <= horizon) {
    set_.remove_tag(static_cast<uint8_t>(buckets_.front().index));
    horizon_bucket_ = buckets_.front().index + 1;
    buckets_.pop_front();
  }
}

void DedupIndex::drop_oldest() {
  evicted_early_ += set_.remove_tag(static_cast<uint8_t>(buckets_.front().index));
  buckets_.pop_front();
}

}  // namespace basalt::loader
