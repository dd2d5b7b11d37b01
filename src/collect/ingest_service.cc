#include "collect/ingest_service.h"

#include <array>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <algorithm>
#include <cassert>
#include <chrono>
#include <functional>
#include <future>
#include <mutex>
#include <unordered_map>
#include <variant>

#include "collect/client_ip.h"
#include "collect/event_json.h"

namespace basalt::collect {

namespace asio = boost::asio;

namespace {

// Hands WAL completions back to the I/O threads. The WAL's writer runs the callbacks of a group
// one after another; posting each request's resumption at once would wake an I/O thread per
// request, and on a core shared with the writer each wake-up lets that thread preempt the
// writer before the next callback. With a WAL that reports the end of its groups, the
// resumptions of a group are gathered and posted once per I/O thread when the group ends.
class DurableCompletions {
 public:
  explicit DurableCompletions(wal::Wal& wal) : wal_(wal) {
    grouped_ = wal_.set_group_listener([this] { flush(); });
  }
  ~DurableCompletions() {
    if (grouped_) wal_.set_group_listener({});
  }
  DurableCompletions(const DurableCompletions&) = delete;
  DurableCompletions& operator=(const DurableCompletions&) = delete;

  // Runs `resume` on `ex`: now (posted) when called from inside Wal::append (a call refused at
  // once, with no group after it) or when the WAL has no groups, else when the group ends.
  void complete(asio::any_io_executor ex, std::function<void()> resume) {
    if (!grouped_ || in_append_) {
      asio::post(ex, std::move(resume));
      return;
    }
    std::lock_guard lock(mu_);
    pending_.emplace_back(std::move(ex), std::move(resume));
  }

  // Marks the calling thread as inside Wal::append for the lifetime of the object.
  struct InAppend {
    InAppend() { in_append_ = true; }
    ~InAppend() { in_append_ = false; }
  };

 private:
  // The WAL's group listener (writer thread): one post per executor with completions.
  void flush() {
    std::vector<std::pair<asio::any_io_executor, std::function<void()>>> done;
    {
      std::lock_guard lock(mu_);
      done.swap(pending_);
    }
    if (done.empty()) return;
    std::vector<std::pair<asio::any_io_executor, std::vector<std::function<void()>>>> by_executor;
    for (auto& [ex, resume] : done) {
      auto it = std::find_if(by_executor.begin(), by_executor.end(),
                             [&](const auto& e) { return e.first == ex; });
      if (it == by_executor.end()) it = by_executor.insert(by_executor.end(), {ex, {}});
      it->second.push_back(std::move(resume));
    }
    for (auto& [ex, resumes] : by_executor) {
      asio::post(ex, [resumes = std::move(resumes)]() mutable {
        for (auto& r : resumes) r();
      });
    }
  }

  wal::Wal& wal_;
  bool grouped_ = false;
  std::mutex mu_;
  std::vector<std::pair<asio::any_io_executor, std::function<void()>>> pending_;  // mu_
  static thread_local bool in_append_;
};

thread_local bool DurableCompletions::in_append_ = false;

// Appends `records` as one unit and resumes the calling coroutine on its own executor once the
// WAL has called back (from its writer thread), through `completions`. Not a coroutine itself:
// the records move into the initiation at once, so no object crosses a coroutine frame as an
// argument (GCC 12 destroys such arguments twice). `durable` observes the seconds from the
// append to the WAL's callback.
asio::awaitable<Status> append_durably(wal::Wal& wal, DurableCompletions& completions,
                                       std::vector<std::string> records, Histogram& durable) {
  auto recs = std::make_shared<std::vector<std::string>>(std::move(records));
  return asio::async_initiate<decltype(asio::use_awaitable), void(Status)>(
      [&wal, &completions, recs, &durable](auto handler) {
        // Wal::AppendCallback is a std::function, which needs a copyable callable.
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        const auto appended = std::chrono::steady_clock::now();
        DurableCompletions::InAppend inside;
        wal.append(std::move(*recs), [shared, &completions, &durable, appended](
                                         const Status& status, wal::Lsn) {
          durable.observe(
              std::chrono::duration<double>(std::chrono::steady_clock::now() - appended).count());
          asio::any_io_executor ex = asio::get_associated_executor(*shared);
          completions.complete(std::move(ex),
                               [shared, status]() mutable { std::move (*shared)(status); });
        });
      },
      asio::use_awaitable);
}

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '-') return 62;
  if (c == '/' || c == '_') return 63;
  return -1;
}

std::optional<std::string> base64_decode(std::string_view in) {
  std::string out;
  out.reserve(in.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=') break;
    int v = base64_value(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

constexpr std::array<int, 10> kCommonCodes = {200, 204, 400, 401, 404, 405, 413, 415, 500, 503};

// basalt_http_requests_total counters created up front for the usual codes, so counting a
// response takes no lock.
struct RouteCounters {
  std::array<Counter*, kCommonCodes.size()> by_code{};
};

// A transform may fan one quarantined event out into several; each then got the replay's
// default messageId, and the loader's dedup would keep only the first. The k-th event (k ≥ 1,
// in the transform's output order) carrying `default_id` gets "<default_id>-<k>" instead:
// distinct, and the same at every replay of the same row, so replaying twice stores each once.
void distinguish_fanned_out(const std::string& default_id, std::vector<std::string>& records) {
  size_t seen = 0;
  for (std::string& record : records) {
    auto kind = event::record_kind(record);
    if (!kind || *kind != event::RecordKind::kEvent) continue;
    auto e = event::decode_event(record);
    assert(e.is_ok() && "the parser's own records decode");
    if (!e.is_ok() || e->message_id != default_id) continue;
    if (seen++ == 0) continue;
    e->message_id = default_id + "-" + std::to_string(seen - 1);
    record.clear();
    event::encode(*e, record);
  }
}

}  // namespace

struct IngestService::Impl {
  Impl(const IngestConfig& c, const std::vector<SourceConfig>& s, wal::Wal& w, const Clock& cl,
       MetricsRegistry& m, std::function<Status()> r)
      : config(c),
        sources(s),
        parser(IngestLimits{c.max_event_bytes, c.max_batch_events}, sources),
        wal(w),
        clock(cl),
        metrics(m),
        readiness(std::move(r)),
        accepted(m.counter("basalt_ingest_events_total", "Events received, by result",
                           {{"result", "accepted"}})),
        rejected(m.counter("basalt_ingest_events_total", "Events received, by result",
                           {{"result", "rejected"}})),
        bytes(m.counter("basalt_ingest_bytes_total", "Decoded bytes of ingest request bodies")),
        latency(m.histogram("basalt_http_request_seconds",
                            "Time from a request's header to its response written",
                            latency_buckets_seconds())),
        warned(m.counter("basalt_ingest_events_total", "Events received, by result",
                         {{"result", "accepted_with_warnings"}})),
        pipeline_latency(m.histogram(
            "basalt_ingest_pipeline_seconds",
            "Time an ingest request spends in its pipeline before the WAL (auth, parse, plan, "
            "enrichment, record encoding)",
            latency_buckets_seconds())),
        wal_latency(m.histogram("basalt_ingest_wal_seconds",
                                "Time from an ingest request's WAL append until its records are "
                                "durable (waiting for its group, write, fdatasync)",
                                latency_buckets_seconds())) {
    for (const char* route : {"unmatched", "preflight"}) add_route_counters(route);
  }

  void add_route_counters(const std::string& route) {
    RouteCounters rc;
    for (size_t i = 0; i < kCommonCodes.size(); ++i) rc.by_code[i] = &request_counter(route, kCommonCodes[i]);
    routes.emplace(route, rc);
  }
  Counter& request_counter(std::string_view route, int code) {
    return metrics.counter("basalt_http_requests_total",
                           "HTTP requests answered, by route and status",
                           {{"route", std::string(route)}, {"code", std::to_string(code)}});
  }

  void observe(const http::RequestLog& log) {
    latency.observe(log.seconds);
    auto it = routes.find(std::string(log.route));
    if (it != routes.end()) {
      for (size_t i = 0; i < kCommonCodes.size(); ++i) {
        if (kCommonCodes[i] == log.status) {
          it->second.by_code[i]->inc();
          return;
        }
      }
    }
    request_counter(log.route, log.status).inc();  // rare: takes the registry's lock
  }

  asio::awaitable<http::Response> ingest(Endpoint endpoint, http::Request& request);
  http::Response validate(http::Request& request);
  asio::awaitable<http::Response> validate_async(http::Request& request) {
    co_return validate(request);
  }
  // Authentication, then the parser with the current plan: the request's pipeline up to (not
  // including) the WAL. An error response when the request as a whole is refused.
  std::variant<IngestBatch, http::Response> run_pipeline(Endpoint endpoint, http::Request& request);
  std::optional<std::string> basic_auth_source(std::string_view header, Status& error) const;

  IngestConfig config;
  SourceDirectory sources;
  IngestParser parser;
  wal::Wal& wal;
  const Clock& clock;
  MetricsRegistry& metrics;
  std::function<Status()> readiness;
  std::function<std::string()> readiness_detail;
  Counter& accepted;
  Counter& rejected;
  Counter& bytes;
  Histogram& latency;
  std::unordered_map<std::string, RouteCounters> routes;  // filled before serving
  std::atomic<std::shared_ptr<const schema::CompiledPlan>> plan;
  Enrichment enrichment;  // set before serving
  Counter& warned;
  Histogram& pipeline_latency;
  Histogram& wal_latency;
  DurableCompletions completions{wal};
};

IngestService::IngestService(const IngestConfig& config, const std::vector<SourceConfig>& sources,
                             wal::Wal& wal, const Clock& clock, MetricsRegistry& metrics,
                             std::function<Status()> readiness)
    : impl_(std::make_unique<Impl>(config, sources, wal, clock, metrics, std::move(readiness))) {}

IngestService::~IngestService() = default;

void IngestService::set_plan(std::shared_ptr<const schema::CompiledPlan> plan) {
  impl_->plan.store(std::move(plan));
}

Result<IngestService::Resubmitted> IngestService::resubmit(
    const std::string& source, int64_t received_at_us, const std::string& raw,
    const std::string& call_type, const std::string& ip, const std::string& quarantine_id) {
  RequestMeta meta;
  meta.received_at_us = received_at_us;
  meta.source = source;
  meta.ip = ip;
  meta.default_message_id = "replay-" + quarantine_id;
  Endpoint endpoint = Endpoint::kBatch;
  std::string body;
  if (call_type.empty()) {
    body = "{\"batch\":[" + raw + "]}";
  } else {
    auto type = event::parse_event_type(call_type);
    if (!type) return invalid_argument("unknown call type '" + call_type + "'");
    switch (*type) {
      case event::EventType::kTrack: endpoint = Endpoint::kTrack; break;
      case event::EventType::kIdentify: endpoint = Endpoint::kIdentify; break;
      case event::EventType::kPage: endpoint = Endpoint::kPage; break;
      case event::EventType::kScreen: endpoint = Endpoint::kScreen; break;
      case event::EventType::kGroup: endpoint = Endpoint::kGroup; break;
      case event::EventType::kAlias: endpoint = Endpoint::kAlias; break;
    }
    body = raw;
  }
  const std::shared_ptr<const schema::CompiledPlan> current = impl_->plan.load();
  auto parsed = impl_->parser.parse(endpoint, body, meta, current.get(), &impl_->enrichment);
  Resubmitted out;
  if (!parsed) {
    out.reason = parsed.status().message();
    return out;
  }
  if (parsed->rejected > 0) {
    out.reason = parsed->errors.empty() ? "refused" : parsed->errors.front().reason;
    return out;
  }
  out.accepted = true;
  out.events = parsed->accepted;
  if (parsed->records.empty()) return out;
  distinguish_fanned_out(meta.default_message_id, parsed->records);
  std::promise<Status> done;
  std::future<Status> stored = done.get_future();
  impl_->wal.append(std::move(parsed->records),
                    [&done](const Status& s, wal::Lsn) { done.set_value(s); });
  if (Status s = stored.get(); !s.is_ok()) return unavailable("events not stored: " + s.message());
  impl_->accepted.inc(out.events);
  return out;
}

void IngestService::set_enrichment(const Enrichment& enrichment) {
  impl_->enrichment = enrichment;
}

void IngestService::set_readiness_detail(std::function<std::string()> detail) {
  impl_->readiness_detail = std::move(detail);
}

http::ServerOptions IngestService::server_options() const {
  http::ServerOptions o;
  o.bind = impl_->config.bind;
  o.port = impl_->config.port;
  o.threads = impl_->config.threads;
  o.max_body_bytes = impl_->config.max_body_bytes;
  o.cors_origins = {"*"};
  o.body_padding = kParserPadding;
  o.name = "ingest";
  Impl* impl = impl_.get();
  o.observer = [impl](const http::RequestLog& log) { impl->observe(log); };
  return o;
}

void IngestService::register_routes(http::Router& router) {
  Impl* impl = impl_.get();
  const std::pair<const char*, Endpoint> kEndpoints[] = {
      {"/v1/track", Endpoint::kTrack}, {"/v1/identify", Endpoint::kIdentify},
      {"/v1/page", Endpoint::kPage},   {"/v1/screen", Endpoint::kScreen},
      {"/v1/group", Endpoint::kGroup}, {"/v1/alias", Endpoint::kAlias},
      {"/v1/batch", Endpoint::kBatch}, {"/v1/import", Endpoint::kBatch}};
  for (const auto& [path, endpoint] : kEndpoints) {
    Endpoint ep = endpoint;
    router.add_async("POST", path, [impl, ep](http::Request& r) { return impl->ingest(ep, r); });
    impl->add_route_counters(path);
  }
  router.add_async("POST", "/v1/validate",
                   [impl](http::Request& r) { return impl->validate_async(r); });
  impl->add_route_counters("/v1/validate");
  router.add("GET", "/healthz",
             [](const http::Request&) { return http::Response::json(200, R"({"status":"ok"})"); });
  impl->add_route_counters("/healthz");
  router.add("GET", "/readyz", [impl](const http::Request&) {
    Status s = impl->readiness ? impl->readiness() : Status::ok();
    if (s.is_ok() && !impl->wal.writable())
      s = unavailable("the WAL is not writable: its last write failed");
    std::string detail = impl->readiness_detail ? impl->readiness_detail() : "";
    if (s.is_ok()) {
      if (detail.empty()) return http::Response::json(200, R"({"status":"ready"})");
      return http::Response::json(200, R"({"status":"ready","detail":)" + detail + "}");
    }
    std::string body = R"({"status":"unavailable","reason":)";
    http::append_json_string(s.message(), body);
    if (!detail.empty()) body += R"(,"detail":)" + detail;
    body.push_back('}');
    return http::Response::json(503, std::move(body));
  });
  impl->add_route_counters("/readyz");
  router.add("GET", "/metrics", [impl](const http::Request&) {
    return http::Response::text(200, impl->metrics.render(), "text/plain; version=0.0.4");
  });
  impl->add_route_counters("/metrics");
}

std::optional<std::string> IngestService::Impl::basic_auth_source(std::string_view header,
                                                                  Status& error) const {
  // The usual spelling needs no decoding.
  if (const std::string* source = sources.find_basic_authorization(header)) return *source;
  constexpr std::string_view kBasic = "Basic ";
  if (header.size() < kBasic.size() ||
      !std::equal(kBasic.begin(), kBasic.end(), header.begin(),
                  [](char a, char b) { return std::tolower(a) == std::tolower(b); })) {
    error = Status(StatusCode::kUnauthenticated,
                   "unsupported Authorization scheme: use Basic with the write key as user name");
    return std::nullopt;
  }
  auto decoded = base64_decode(header.substr(kBasic.size()));
  if (!decoded) {
    error = Status(StatusCode::kUnauthenticated, "malformed Basic credentials");
    return std::nullopt;
  }
  std::string_view user(*decoded);
  user = user.substr(0, user.find(':'));
  const std::string* source = sources.find(user);
  if (!source) {
    error = Status(StatusCode::kUnauthenticated, "unknown write key");
    return std::nullopt;
  }
  return *source;
}

namespace {

void append_item_errors(const char* name, const std::vector<ItemError>& items, std::string& body) {
  body += ",\"";
  body += name;
  body += "\":[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) body.push_back(',');
    body += R"({"index":)";
    body += std::to_string(items[i].index);
    body += R"(,"reason":)";
    http::append_json_string(items[i].reason, body);
    body.push_back('}');
  }
  body += "]";
}

}  // namespace

std::variant<IngestBatch, http::Response> IngestService::Impl::run_pipeline(
    Endpoint endpoint, http::Request& request) {
  RequestMeta meta;
  meta.received_at_us = clock.now_us();
  bytes.inc(request.body().size());
  if (request.body().size() > config.max_body_bytes) {
    return http::Response::error(413, "request body exceeds the limit of " +
                                          std::to_string(config.max_body_bytes) + " bytes");
  }
  if (std::string_view auth = request.header("Authorization"); !auth.empty()) {
    Status error;
    auto source = basic_auth_source(auth, error);
    if (!source) return http::Response::error(401, error.message());
    meta.source = std::move(*source);
  }
  meta.ip = client_ip(request.remote_address(), request.header("X-Forwarded-For"),
                      config.trusted_proxies);
  meta.user_agent = request.header("User-Agent");

  // The plan in force when the request arrived; a reload during the request does not change it.
  const std::shared_ptr<const schema::CompiledPlan> current = plan.load();
  // The parser runs the per-event pipeline: the source's Lua transform, Segment fields,
  // clock-skew correction, context, the tracking plan, user agent and GeoIP.
  auto parsed = parser.parse(endpoint, request.body(), meta, current.get(), &enrichment);
  if (!parsed.is_ok()) {
    return http::Response::error(http_status_of(parsed.status().code()), parsed.status().message());
  }
  return std::move(*parsed);
}

asio::awaitable<http::Response> IngestService::Impl::ingest(Endpoint endpoint,
                                                            http::Request& request) {
  const auto started = std::chrono::steady_clock::now();
  auto ran = run_pipeline(endpoint, request);
  pipeline_latency.observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  if (auto* refused = std::get_if<http::Response>(&ran)) co_return std::move(*refused);
  IngestBatch& batch = std::get<IngestBatch>(ran);
  if (!batch.records.empty()) {
    Status s = co_await append_durably(wal, completions, std::move(batch.records), wal_latency);
    if (!s.is_ok()) {
      http::Response r = http::Response::error(503, "events not stored: " + s.message());
      r.headers.emplace_back("Retry-After", "1");
      co_return r;
    }
  }
  accepted.inc(batch.accepted);
  rejected.inc(batch.rejected);
  warned.inc(batch.warnings.size());
  if (batch.rejected == 0 && batch.warnings.empty())
    co_return http::Response::json(200, R"({"success":true})");
  std::string body = R"({"success":true,"accepted":)";
  body += std::to_string(batch.accepted);
  body += R"(,"rejected":)";
  body += std::to_string(batch.rejected);
  append_item_errors("errors", batch.errors, body);
  if (!batch.warnings.empty()) append_item_errors("warnings", batch.warnings, body);
  body += "}";
  co_return http::Response::json(200, std::move(body));
}

http::Response IngestService::Impl::validate(http::Request& request) {
  auto ran = run_pipeline(Endpoint::kBatch, request);
  if (auto* refused = std::get_if<http::Response>(&ran)) return std::move(*refused);
  IngestBatch& batch = std::get<IngestBatch>(ran);
  // One record per item, in body order; the errors and warnings are in index order too.
  std::string body = R"({"success":true,"source":)";
  http::append_json_string(batch.source, body);
  body += R"(,"accepted":)";
  body += std::to_string(batch.accepted);
  body += R"(,"rejected":)";
  body += std::to_string(batch.rejected);
  body += R"(,"results":[)";
  size_t next_error = 0, next_warning = 0;
  for (size_t i = 0; i < batch.records.size(); ++i) {
    if (i) body.push_back(',');
    body += R"({"index":)";
    body += std::to_string(i);
    auto kind = event::record_kind(batch.records[i]);
    if (kind && *kind == event::RecordKind::kEvent) {
      auto e = event::decode_event(batch.records[i]);
      assert(e.is_ok() && "the parser's own records decode");
      body += R"(,"status":"accepted")";
      if (next_warning < batch.warnings.size() && batch.warnings[next_warning].index == i) {
        body += R"(,"warnings":)";
        http::append_json_string(batch.warnings[next_warning++].reason, body);
      }
      body += R"(,"event":)";
      append_event_json(*e, body);
    } else {
      body += R"(,"status":"rejected","reason":)";
      if (next_error < batch.errors.size()) {
        http::append_json_string(batch.errors[next_error++].reason, body);
      } else {
        body += "\"\"";
      }
    }
    body.push_back('}');
  }
  body += "]}";
  return http::Response::json(200, std::move(body));
}

}  // namespace basalt::collect
