#include "common/metrics.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>

#include <array>
#include <atomic>
#include <chrono>
#include <map>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"

namespace liaison {
namespace {

using grpc::experimental::InterceptionHookPoints;
using grpc::experimental::ServerRpcInfo;

// Names match the grpc_code label values of other gRPC Prometheus exporters.
constexpr std::array<const char*, 17> kCodeNames = {
    "OK",       "Canceled",       "Unknown",          "InvalidArgument",   "DeadlineExceeded",
    "NotFound", "AlreadyExists",  "PermissionDenied", "ResourceExhausted", "FailedPrecondition",
    "Aborted",  "OutOfRange",     "Unimplemented",    "Internal",          "Unavailable",
    "DataLoss", "Unauthenticated"};

const char* TypeName(ServerRpcInfo::Type type) {
  switch (type) {
    case ServerRpcInfo::Type::UNARY:
      return "unary";
    case ServerRpcInfo::Type::CLIENT_STREAMING:
      return "client_stream";
    case ServerRpcInfo::Type::SERVER_STREAMING:
      return "server_stream";
    case ServerRpcInfo::Type::BIDI_STREAMING:
      return "bidi_stream";
  }
  return "unknown";
}

}  // namespace

const prometheus::Histogram::BucketBoundaries& LatencyBuckets() {
  static const auto* buckets = new prometheus::Histogram::BucketBoundaries{
      0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
      0.025,   0.05,     0.1,     0.25,   0.5,     1,      2.5,   5,      10};
  return *buckets;
}

// Per-method counters are created on a method's first call and cached by the
// method-name pointer gRPC hands out (stable for the server's life), so the
// hot path is one shared-lock lookup and atomic increments.
class GrpcServerMetrics final {
 public:
  struct Method {
    prometheus::Counter* started;
    prometheus::Histogram* seconds;
    std::array<std::atomic<prometheus::Counter*>, kCodeNames.size()> handled{};
    std::map<std::string, std::string> labels;
  };

  explicit GrpcServerMetrics(prometheus::Registry& registry)
      : started_(prometheus::BuildCounter()
                     .Name("grpc_server_started_total")
                     .Help("RPCs started on the server.")
                     .Register(registry)),
        handled_(prometheus::BuildCounter()
                     .Name("grpc_server_handled_total")
                     .Help("RPCs completed on the server, by status code.")
                     .Register(registry)),
        seconds_(prometheus::BuildHistogram()
                     .Name("grpc_server_handling_seconds")
                     .Help("Time from receiving an RPC to sending its status.")
                     .Register(registry)) {}

  Method* ForMethod(const char* full_name, ServerRpcInfo::Type type) {
    {
      absl::ReaderMutexLock lock(&mu_);
      auto it = methods_.find(full_name);
      if (it != methods_.end()) return it->second.get();
    }
    absl::MutexLock lock(&mu_);
    auto& slot = methods_[full_name];
    if (slot == nullptr) {
      // "/pkg.Service/Method"
      std::string name = full_name == nullptr ? "/unknown/unknown" : full_name;
      size_t slash = name.rfind('/');
      std::string service =
          slash == std::string::npos || slash == 0 ? "unknown" : name.substr(1, slash - 1);
      std::string method = slash == std::string::npos ? name : name.substr(slash + 1);
      slot = std::make_unique<Method>();
      slot->labels = {
          {"grpc_service", service}, {"grpc_method", method}, {"grpc_type", TypeName(type)}};
      slot->started = &started_.Add(slot->labels);
      slot->seconds = &seconds_.Add(slot->labels, LatencyBuckets());
    }
    return slot.get();
  }

  void Handled(Method* method, int code, double seconds) {
    if (code < 0 || code >= static_cast<int>(kCodeNames.size())) code = 2;  // Unknown
    prometheus::Counter* counter = method->handled[code].load(std::memory_order_acquire);
    if (counter == nullptr) {
      auto labels = method->labels;
      labels["grpc_code"] = kCodeNames[code];
      counter = &handled_.Add(labels);  // Add returns the same child for the same labels.
      method->handled[code].store(counter, std::memory_order_release);
    }
    counter->Increment();
    method->seconds->Observe(seconds);
  }

 private:
  prometheus::Family<prometheus::Counter>& started_;
  prometheus::Family<prometheus::Counter>& handled_;
  prometheus::Family<prometheus::Histogram>& seconds_;
  absl::Mutex mu_;
  absl::flat_hash_map<const char*, std::unique_ptr<Method>> methods_ ABSL_GUARDED_BY(mu_);
};

namespace {

class ServerMetricsInterceptor final : public grpc::experimental::Interceptor {
 public:
  ServerMetricsInterceptor(std::shared_ptr<GrpcServerMetrics> metrics, ServerRpcInfo* info)
      : metrics_(std::move(metrics)),
        method_(metrics_->ForMethod(info->method(), info->type())),
        start_(std::chrono::steady_clock::now()) {
    method_->started->Increment();
  }

  ~ServerMetricsInterceptor() override {
    // A call torn down without sending a status was cancelled.
    if (!recorded_) Record(grpc::StatusCode::CANCELLED);
  }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      Record(methods->GetSendStatus().error_code());
    }
    methods->Proceed();
  }

 private:
  void Record(grpc::StatusCode code) {
    recorded_ = true;
    std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start_;
    metrics_->Handled(method_, static_cast<int>(code), elapsed.count());
  }

  std::shared_ptr<GrpcServerMetrics> metrics_;
  GrpcServerMetrics::Method* method_;
  std::chrono::steady_clock::time_point start_;
  bool recorded_ = false;
};

class ServerMetricsFactory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit ServerMetricsFactory(std::shared_ptr<GrpcServerMetrics> metrics)
      : metrics_(std::move(metrics)) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(ServerRpcInfo* info) override {
    return new ServerMetricsInterceptor(metrics_, info);
  }

 private:
  std::shared_ptr<GrpcServerMetrics> metrics_;
};

}  // namespace

Metrics::Metrics(const std::string& service)
    : registry_(std::make_shared<prometheus::Registry>()),
      grpc_(std::make_shared<GrpcServerMetrics>(*registry_)),
      process_(NewProcessCollector()) {
  prometheus::BuildGauge()
      .Name("liaison_build_info")
      .Help("Always 1; labels name the service.")
      .Register(*registry_)
      .Add({{"service", service}})
      .Set(1);
}

Metrics::~Metrics() { Stop(); }

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
Metrics::ServerInterceptor() {
  return std::make_unique<ServerMetricsFactory>(grpc_);
}

absl::Status Metrics::Serve(const std::string& host, int port) {
  try {
    exposer_ = std::make_unique<prometheus::Exposer>(absl::StrCat(host, ":", port));
  } catch (const std::exception& e) {
    return absl::InternalError(
        absl::StrCat("cannot serve /metrics on ", host, ":", port, ": ", e.what()));
  }
  exposer_->RegisterCollectable(registry_);
  exposer_->RegisterCollectable(process_);
  for (const auto& collectable : pending_) exposer_->RegisterCollectable(collectable);
  return absl::OkStatus();
}

int Metrics::port() const {
  if (exposer_ == nullptr) return 0;
  auto ports = exposer_->GetListeningPorts();
  return ports.empty() ? 0 : ports.front();
}

void Metrics::AddCollectable(const std::shared_ptr<prometheus::Collectable>& collectable) {
  pending_.push_back(collectable);
  if (exposer_ != nullptr) exposer_->RegisterCollectable(collectable);
}

void Metrics::Stop() { exposer_.reset(); }

}  // namespace liaison
