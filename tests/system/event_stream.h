// A member's event stream in a system test, read on a thread of its own.
#ifndef LIAISON_TESTS_SYSTEM_EVENT_STREAM_H_
#define LIAISON_TESTS_SYSTEM_EVENT_STREAM_H_

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "liaison/messaging/v1/messaging.grpc.pb.h"
#include "tests/system/retrying_client.h"

namespace liaison::testing {

// A member's StreamEvents, read on a thread of its own until stopped.
class EventStream final {
 public:
  EventStream(int port, const std::string& token, const std::string& cursor = "")
      : stub_(messaging::v1::MessagingService::NewStub(RetryingChannel(port))) {
    context_.AddMetadata("authorization", "Bearer " + token);
    messaging::v1::StreamEventsRequest request;
    request.set_cursor(cursor);
    context_.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    reader_ = stub_->StreamEvents(&context_, request);
    reader_->WaitForInitialMetadata();  // registered: nothing sent from now on is missed
    thread_ = std::thread([this] {
      messaging::v1::StreamEventsResponse event;
      while (reader_->Read(&event)) {
        std::lock_guard<std::mutex> lock(mu_);
        events_.push_back(event);
      }
    });
  }
  ~EventStream() {
    context_.TryCancel();
    thread_.join();
    reader_->Finish();
  }

  // The new messages' bodies so far, once `n` have come or 10 s have passed.
  std::vector<std::string> AwaitMessages(size_t n) {
    std::vector<std::string> bodies;
    AwaitUntil([&](const std::vector<messaging::v1::StreamEventsResponse>& events) {
      bodies.clear();
      for (const auto& e : events) {
        if (e.has_new_message()) bodies.push_back(e.new_message().message().body());
      }
      return bodies.size() >= n;
    });
    return bodies;
  }

  // The events so far, once `n` have come or 10 s have passed.
  std::vector<messaging::v1::StreamEventsResponse> Await(size_t n) {
    return AwaitUntil([n](const auto& events) { return events.size() >= n; });
  }

  template <typename Done>
  std::vector<messaging::v1::StreamEventsResponse> AwaitUntil(Done done) {
    for (int i = 0; i < 200; ++i) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (done(events_)) return events_;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    std::lock_guard<std::mutex> lock(mu_);
    return events_;
  }

 private:
  std::unique_ptr<messaging::v1::MessagingService::Stub> stub_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReader<messaging::v1::StreamEventsResponse>> reader_;
  std::thread thread_;
  std::mutex mu_;
  std::vector<messaging::v1::StreamEventsResponse> events_;
};

}  // namespace liaison::testing

#endif  // LIAISON_TESTS_SYSTEM_EVENT_STREAM_H_
