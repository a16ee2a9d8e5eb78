#pragma once
// An io_context run by one background thread, for commands and tests that drive the
// asynchronous clients from synchronous code. Data-path components take the io_context.
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <future>
#include <thread>

namespace tiermirror::net {

class IoThread {
 public:
  IoThread() : work_(boost::asio::make_work_guard(io_)), thread_([this] { io_.run(); }) {}
  ~IoThread() { stop(); }
  IoThread(const IoThread&) = delete;
  IoThread& operator=(const IoThread&) = delete;

  boost::asio::io_context& io() { return io_; }
  void stop() {
    work_.reset();
    io_.stop();
    if (thread_.joinable()) thread_.join();
    // Handlers already posted (a connection's close(), the cancellations it causes) still
    // run, here: they fail pending requests and so break the reference cycles between a
    // connection and the handlers of its requests. Timers not yet due are dropped.
    io_.restart();
    for (int round = 0; round < 8 && io_.poll() > 0; ++round) {
    }
  }

 private:
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::thread thread_;
};

/// Runs an asynchronous operation that reports through a callback and waits for it:
///   auto [ec, md] = await<std::pair<std::error_code, MetadataPtr>>([&](auto done) {
///     cluster->refresh(std::nullopt, [done](auto ec, auto md) { done({ec, md}); }); });
/// Never call it from the io thread itself.
template <typename T, typename Start>
T await(Start start) {
  auto promise = std::make_shared<std::promise<T>>();
  auto fut = promise->get_future();
  start([promise](T v) { promise->set_value(std::move(v)); });
  return fut.get();
}

}  // namespace tiermirror::net
