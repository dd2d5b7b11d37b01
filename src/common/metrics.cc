#include "common/metrics.h"

#include <fmt/format.h>

#include <algorithm>
#include <cassert>
#include <cmath>

namespace basalt {

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), buckets_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  assert(std::is_sorted(bounds_.begin(), bounds_.end()) && "histogram bounds must ascend");
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0, std::memory_order_relaxed);
}

void Histogram::observe(double v) {
  size_t i = std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin();
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

std::vector<uint64_t> Histogram::cumulative_counts() const {
  std::vector<uint64_t> out(bounds_.size() + 1);
  uint64_t total = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    total += buckets_[i].load(std::memory_order_relaxed);
    out[i] = total;
  }
  return out;
}

MetricsRegistry::Series& MetricsRegistry::series_of(const std::string& name,
                                                    const std::string& help, Kind kind,
                                                    const Labels& labels) {
  auto [it, inserted] = families_.try_emplace(name, Family{kind, help, {}});
  assert(it->second.kind == kind && "a metric name is registered with one type only");
  for (auto& s : it->second.series) {
    if (s->labels == labels) return *s;
  }
  auto s = std::make_unique<Series>();
  s->labels = labels;
  it->second.series.push_back(std::move(s));
  return *it->second.series.back();
}

Counter& MetricsRegistry::counter(const std::string& name, const std::string& help,
                                  const Labels& labels) {
  std::lock_guard lock(mu_);
  Series& s = series_of(name, help, Kind::kCounter, labels);
  if (!s.counter) s.counter = std::make_unique<Counter>();
  return *s.counter;
}

Gauge& MetricsRegistry::gauge(const std::string& name, const std::string& help,
                              const Labels& labels) {
  std::lock_guard lock(mu_);
  Series& s = series_of(name, help, Kind::kGauge, labels);
  if (!s.gauge) s.gauge = std::make_unique<Gauge>();
  return *s.gauge;
}

Histogram& MetricsRegistry::histogram(const std::string& name, const std::string& help,
                                      const std::vector<double>& bounds, const Labels& labels) {
  std::lock_guard lock(mu_);
  Series& s = series_of(name, help, Kind::kHistogram, labels);
  if (!s.histogram) s.histogram = std::make_unique<Histogram>(bounds);
  return *s.histogram;
}

void MetricsRegistry::gauge_callback(const std::string& name, const std::string& help,
                                     std::function<double()> read, const Labels& labels) {
  std::lock_guard lock(mu_);
  Series& s = series_of(name, help, Kind::kGauge, labels);
  s.read = std::move(read);
}

namespace {

std::string escape_label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::string label_text(const Labels& labels, const std::string& extra_key = "",
                       const std::string& extra_value = "") {
  if (labels.empty() && extra_key.empty()) return "";
  std::string out = "{";
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) out += ',';
    first = false;
    out += fmt::format("{}=\"{}\"", k, escape_label(v));
  }
  if (!extra_key.empty()) {
    if (!first) out += ',';
    out += fmt::format("{}=\"{}\"", extra_key, extra_value);
  }
  return out + "}";
}

std::string number(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v)) return "NaN";
  return fmt::format("{}", v);
}

}  // namespace

std::string MetricsRegistry::render() const {
  std::lock_guard lock(mu_);
  std::string out;
  for (const auto& [name, family] : families_) {
    const char* type = family.kind == Kind::kCounter   ? "counter"
                       : family.kind == Kind::kGauge   ? "gauge"
                                                       : "histogram";
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, family.help, name, type);
    for (const auto& s : family.series) {
      if (s->counter) {
        out += fmt::format("{}{} {}\n", name, label_text(s->labels), s->counter->value());
      } else if (s->gauge || s->read) {
        double v = s->read ? s->read() : s->gauge->value();
        out += fmt::format("{}{} {}\n", name, label_text(s->labels), number(v));
      } else if (s->histogram) {
        const Histogram& h = *s->histogram;
        auto counts = h.cumulative_counts();
        for (size_t i = 0; i < h.bounds().size(); ++i) {
          out += fmt::format("{}_bucket{} {}\n", name,
                             label_text(s->labels, "le", number(h.bounds()[i])), counts[i]);
        }
        out += fmt::format("{}_bucket{} {}\n", name, label_text(s->labels, "le", "+Inf"),
                           counts.back());
        out += fmt::format("{}_sum{} {}\n", name, label_text(s->labels), number(h.sum()));
        out += fmt::format("{}_count{} {}\n", name, label_text(s->labels), h.count());
      }
    }
  }
  return out;
}

std::vector<double> latency_buckets_seconds() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
          0.025,  0.05,    0.1,    0.25,  0.5,    1,     2.5, 5, 10};
}

}  // namespace basalt
