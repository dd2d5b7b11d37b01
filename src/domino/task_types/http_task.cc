// http: a request to `url` (http:// only for now) with `method` (default GET), `headers` and a
// `body` (a mapping is sent as JSON). Succeeds on a 2xx status, or on `expect_status`.

#include <fmt/format.h>

#include "domino/task_types/task_types.h"
#include "http/client.h"

namespace basalt::domino {
namespace {

class HttpTaskType final : public TaskType {
 public:
  std::string_view name() const override { return "http"; }
  std::vector<std::string> keys() const override { return {"url", "method", "headers", "body", "expect_status"}; }
  Status validate(const TaskSpec& t) const override {
    std::string url = field_string(t, "url");
    if (url.empty()) return invalid_argument("an http task needs url:");
    if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0 && url.rfind("{{", 0) != 0) {
      return invalid_argument("url must start with http:// or https://");
    }
    if (t.fields.contains("headers") && !t.fields["headers"].is_object()) return invalid_argument("headers must be a mapping");
    return Status::ok();
  }
  Result<TaskPlan> plan(const TaskRunContext& c) const override {
    auto url = rendered_string(c, "url");
    if (!url) return url.status();
    if (url->rfind("http://", 0) != 0) return invalid_argument("only http:// URLs are supported yet: " + *url);
    std::string rest = url->substr(7);
    auto slash = rest.find('/');
    std::string base = "http://" + rest.substr(0, slash);
    http::ClientRequest req;
    req.target = slash == std::string::npos ? "/" : rest.substr(slash);
    req.method = field_string(c.task, "method");
    if (req.method.empty()) req.method = "GET";
    if (c.task.fields.contains("body")) {
      auto body = render_json(c.task.fields["body"], c.templates);
      if (!body) return body.status();
      req.body = body->is_string() ? body->get<std::string>() : body->dump();
      if (!body->is_string()) req.headers.emplace_back("Content-Type", "application/json");
    }
    if (c.task.fields.contains("headers")) {
      auto h = render_json(c.task.fields["headers"], c.templates);
      if (!h) return h.status();
      for (const auto& [k, v] : h->items()) req.headers.emplace_back(k, v.is_string() ? v.get<std::string>() : v.dump());
    }
    int expect = c.task.fields.contains("expect_status") && c.task.fields["expect_status"].is_number_integer()
                     ? c.task.fields["expect_status"].get<int>() : 0;
    auto timeout = c.task.timeout.count() > 0 ? std::chrono::milliseconds(c.task.timeout)
                                              : std::chrono::milliseconds(std::chrono::minutes(10));
    InProcessPlan p;
    p.run = [base, req, expect, timeout](const LogWriter& log, const std::atomic<bool>&) -> Status {
      log(fmt::format("{} {}{}\n", req.method, base, req.target));
      auto client = http::Client::connect_to(base, timeout);
      if (!client) return client.status();
      auto r = (*client)->send(req);
      if (!r) return r.status();
      log(fmt::format("HTTP {}\n{}\n", r->status, r->body.substr(0, 4096)));
      bool ok = expect ? r->status == expect : r->status >= 200 && r->status < 300;
      if (!ok) return unavailable(fmt::format("HTTP {} from {}", r->status, base));
      return Status::ok();
    };
    return TaskPlan(std::move(p));
  }
};

}  // namespace
std::unique_ptr<TaskType> make_http_task_type() { return std::make_unique<HttpTaskType>(); }
}  // namespace basalt::domino
