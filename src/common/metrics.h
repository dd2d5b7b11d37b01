#pragma once
// A registry of counters, gauges and histograms rendered in the Prometheus text format (0.0.4).
// Metrics are created once (at start-up, under the registry's mutex) and then updated lock-free
// from any thread; references stay valid for the registry's lifetime.

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace basalt {

// Label pairs in the order given, e.g. {{"code", "200"}}.
using Labels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  void inc(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

class Gauge {
 public:
  void set(double v) { value_.store(v, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Histogram {
 public:
  // `bounds` are the upper bounds of the buckets, ascending; +Inf is implied.
  explicit Histogram(std::vector<double> bounds);
  void observe(double v);
  uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  double sum() const { return sum_.load(std::memory_order_relaxed); }
  // Cumulative counts per bound, then +Inf.
  std::vector<uint64_t> cumulative_counts() const;
  const std::vector<double>& bounds() const { return bounds_; }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // one per bound plus +Inf
  std::atomic<uint64_t> count_{0};
  std::atomic<double> sum_{0};
};

class MetricsRegistry {
 public:
  // Each returns the metric with that name and labels, creating it on first use. A name keeps
  // the type and help text it was first registered with.
  Counter& counter(const std::string& name, const std::string& help, const Labels& labels = {});
  Gauge& gauge(const std::string& name, const std::string& help, const Labels& labels = {});
  Histogram& histogram(const std::string& name, const std::string& help,
                       const std::vector<double>& bounds, const Labels& labels = {});
  // A gauge read from `read` at each render; `read` must be callable from any thread.
  void gauge_callback(const std::string& name, const std::string& help,
                      std::function<double()> read, const Labels& labels = {});

  // The whole registry in the Prometheus text exposition format.
  std::string render() const;

 private:
  enum class Kind { kCounter, kGauge, kHistogram };
  struct Series {
    Labels labels;
    std::unique_ptr<Counter> counter;
    std::unique_ptr<Gauge> gauge;
    std::unique_ptr<Histogram> histogram;
    std::function<double()> read;
  };
  struct Family {
    Kind kind;
    std::string help;
    std::vector<std::unique_ptr<Series>> series;
  };
  Series& series_of(const std::string& name, const std::string& help, Kind kind,
                    const Labels& labels);

  mutable std::mutex mu_;
  std::map<std::string, Family> families_;  // protected by mu_
};

// Latency buckets in seconds, from 100 µs to 10 s.
std::vector<double> latency_buckets_seconds();

}  // namespace basalt
