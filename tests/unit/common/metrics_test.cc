#include "common/metrics.h"

#include <gtest/gtest.h>

namespace basalt {
namespace {

TEST(MetricsRegistryTest, RendersPrometheusText) {
  MetricsRegistry r;
  r.counter("basalt_requests_total", "Requests by code", {{"code", "200"}}).inc(3);
  r.counter("basalt_requests_total", "Requests by code", {{"code", "400"}}).inc();
  r.gauge("basalt_wal_bytes", "WAL size").set(1024);
  r.gauge_callback("basalt_lag_events", "Lag", [] { return 7.0; });
  auto& h = r.histogram("basalt_latency_seconds", "Latency", {0.001, 0.01});
  h.observe(0.0005);
  h.observe(0.005);
  h.observe(5);
  std::string text = r.render();
  EXPECT_NE(text.find("# TYPE basalt_requests_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("basalt_requests_total{code=\"200\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("basalt_requests_total{code=\"400\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("basalt_wal_bytes 1024\n"), std::string::npos);
  EXPECT_NE(text.find("basalt_lag_events 7\n"), std::string::npos);
  EXPECT_NE(text.find("basalt_latency_seconds_bucket{le=\"0.001\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("basalt_latency_seconds_bucket{le=\"0.01\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("basalt_latency_seconds_bucket{le=\"+Inf\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("basalt_latency_seconds_count 3\n"), std::string::npos);
}

TEST(MetricsRegistryTest, SameNameAndLabelsIsTheSameMetric) {
  MetricsRegistry r;
  Counter& a = r.counter("c", "help", {{"k", "v"}});
  Counter& b = r.counter("c", "help", {{"k", "v"}});
  EXPECT_EQ(&a, &b);
}

}  // namespace
}  // namespace basalt
