#pragma once
// A thread pool for blocking work (a SQL query, a file read) started from a coroutine handler:
// `co_await pool.run([&] { return run_query(); })` runs the function on the pool and resumes
// the handler on its own I/O thread with the result, so I/O threads never block.
//
// Thread safety: run() may be called from any coroutine; the destructor waits for queued work.

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <memory>
#include <type_traits>
#include <utility>

namespace basalt::http {

class BlockingPool {
 public:
  explicit BlockingPool(size_t threads) : pool_(threads) {}
  ~BlockingPool() { pool_.join(); }
  BlockingPool(const BlockingPool&) = delete;
  BlockingPool& operator=(const BlockingPool&) = delete;

  // REQUIRES: fn returns a movable, non-void value and does not throw.
  //
  // Not a coroutine itself: the function is moved into shared state at once, so no argument
  // of class type crosses a coroutine frame (GCC 12 destroys such temporaries twice).
  template <typename Fn>
  boost::asio::awaitable<std::invoke_result_t<Fn>> run(Fn fn) {
    using T = std::invoke_result_t<Fn>;
    auto task = std::make_shared<Fn>(std::move(fn));
    return boost::asio::async_initiate<decltype(boost::asio::use_awaitable), void(T)>(
        [this, task](auto handler) {
          boost::asio::post(pool_, [task, handler = std::move(handler)]() mutable {
            T result = (*task)();
            auto ex = boost::asio::get_associated_executor(handler);
            boost::asio::post(ex, [handler = std::move(handler),
                                   result = std::move(result)]() mutable {
              std::move(handler)(std::move(result));
            });
          });
        },
        boost::asio::use_awaitable);
  }

  void stop() { pool_.stop(); }

 private:
  boost::asio::thread_pool pool_;
};

}  // namespace basalt::http
