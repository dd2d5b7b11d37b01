#pragma once
// A tiny HTTP/1.1 server for tests, on 127.0.0.1 and a free port: it records each request
// (method, target, headers, body) and answers every one with a fixed status and body, closing
// the connection. Stopped by its destructor.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace basalt::domino {

class RecordingHttpServer {
 public:
  struct Request {
    std::string method, target, head, body;
  };

  explicit RecordingHttpServer(int status = 200, std::string body = "ok")
      : status_(status), answer_(std::move(body)) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    listen(fd_, 16);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~RecordingHttpServer() {
    stop_ = true;
    thread_.join();
    close(fd_);
  }
  RecordingHttpServer(const RecordingHttpServer&) = delete;
  RecordingHttpServer& operator=(const RecordingHttpServer&) = delete;

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::vector<Request> requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }
  // Waits until `n` requests have come in (false after `limit`).
  bool wait_for(size_t n, std::chrono::milliseconds limit = std::chrono::seconds(10)) const {
    auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      if (requests().size() >= n) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return requests().size() >= n;
  }

 private:
  void serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      std::string data;
      char buf[4096];
      size_t need = std::string::npos;
      while (true) {
        pollfd q{c, POLLIN, 0};
        if (poll(&q, 1, 2000) <= 0) break;
        ssize_t n = read(c, buf, sizeof buf);
        if (n <= 0) break;
        data.append(buf, static_cast<size_t>(n));
        auto end = data.find("\r\n\r\n");
        if (end != std::string::npos && need == std::string::npos) {
          need = end + 4 + content_length(data.substr(0, end));
        }
        if (need != std::string::npos && data.size() >= need) break;
      }
      Request r;
      auto end = data.find("\r\n\r\n");
      r.head = data.substr(0, end);
      if (end != std::string::npos) r.body = data.substr(end + 4);
      auto sp1 = r.head.find(' ');
      auto sp2 = r.head.find(' ', sp1 + 1);
      if (sp1 != std::string::npos && sp2 != std::string::npos) {
        r.method = r.head.substr(0, sp1);
        r.target = r.head.substr(sp1 + 1, sp2 - sp1 - 1);
      }
      {
        std::lock_guard lock(mu_);
        requests_.push_back(r);
      }
      std::string out = "HTTP/1.1 " + std::to_string(status_) +
                        " X\r\nContent-Length: " + std::to_string(answer_.size()) +
                        "\r\nConnection: close\r\n\r\n" + answer_;
      [[maybe_unused]] ssize_t w = write(c, out.data(), out.size());
      close(c);
    }
  }
  static size_t content_length(std::string head) {
    for (auto& ch : head) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    auto p = head.find("content-length:");
    return p == std::string::npos ? 0 : std::stoul(head.substr(p + 15));
  }

  int status_;
  std::string answer_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  mutable std::mutex mu_;
  std::vector<Request> requests_;  // protected by mu_
};

}  // namespace basalt::domino
