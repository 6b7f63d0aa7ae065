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

using grpc::experimental::ClientRpcInfo;
using grpc::experimental::InterceptionHookPoints;
using grpc::experimental::ServerRpcInfo;

// Names match the grpc_code label values of other gRPC Prometheus exporters.
constexpr std::array<const char*, 17> kCodeNames = {
    "OK",       "Canceled",       "Unknown",          "InvalidArgument",   "DeadlineExceeded",
    "NotFound", "AlreadyExists",  "PermissionDenied", "ResourceExhausted", "FailedPrecondition",
    "Aborted",  "OutOfRange",     "Unimplemented",    "Internal",          "Unavailable",
    "DataLoss", "Unauthenticated"};

template <typename Type>
const char* TypeName(Type type) {
  switch (type) {
    case Type::UNARY:
      return "unary";
    case Type::CLIENT_STREAMING:
      return "client_stream";
    case Type::SERVER_STREAMING:
      return "server_stream";
    case Type::BIDI_STREAMING:
      return "bidi_stream";
    default:
      return "unknown";
  }
}

}  // namespace

const prometheus::Histogram::BucketBoundaries& LatencyBuckets() {
  static const auto* buckets = new prometheus::Histogram::BucketBoundaries{
      0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
      0.025,   0.05,     0.1,     0.25,   0.5,     1,      2.5,   5,      10};
  return *buckets;
}

// Per-method counters for one side (server or client) of every RPC, created
// on a method's first call and cached by method name, so the hot path is one
// shared-lock lookup and atomic increments. Callers can invent method names
// (unknown methods reach the server too), so past kMaxMethods distinct names
// the rest share one "unknown" series.
class GrpcRpcMetrics final {
 public:
  struct Method {
    prometheus::Counter* started;
    prometheus::Histogram* seconds;
    std::array<std::atomic<prometheus::Counter*>, kCodeNames.size()> handled{};
    std::map<std::string, std::string> labels;
  };

  // `side` is "server" or "client".
  GrpcRpcMetrics(prometheus::Registry& registry, const std::string& side)
      : started_(prometheus::BuildCounter()
                     .Name("grpc_" + side + "_started_total")
                     .Help("RPCs started on the " + side + ".")
                     .Register(registry)),
        handled_(prometheus::BuildCounter()
                     .Name("grpc_" + side + "_handled_total")
                     .Help("RPCs completed on the " + side + ", by status code.")
                     .Register(registry)),
        seconds_(prometheus::BuildHistogram()
                     .Name("grpc_" + side + "_handling_seconds")
                     .Help("Time from the start of an RPC to its status, on the " + side + ".")
                     .Register(registry)) {}

  Method* ForMethod(const char* full_name, const char* type) {
    absl::string_view key = full_name == nullptr ? "/unknown/unknown" : full_name;
    {
      absl::ReaderMutexLock lock(&mu_);
      auto it = methods_.find(key);
      if (it != methods_.end()) return it->second.get();
    }
    absl::MutexLock lock(&mu_);
    if (methods_.size() >= kMaxMethods && !methods_.contains(key)) key = "/unknown/unknown";
    auto& slot = methods_[key];
    if (slot == nullptr) {
      // "/pkg.Service/Method"
      std::string name(key);
      size_t slash = name.rfind('/');
      std::string service =
          slash == std::string::npos || slash == 0 ? "unknown" : name.substr(1, slash - 1);
      std::string method = slash == std::string::npos ? name : name.substr(slash + 1);
      slot = std::make_unique<Method>();
      slot->labels = {{"grpc_service", service}, {"grpc_method", method}, {"grpc_type", type}};
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
  static constexpr size_t kMaxMethods = 256;
  absl::flat_hash_map<std::string, std::unique_ptr<Method>> methods_ ABSL_GUARDED_BY(mu_);
};

namespace {

class ServerMetricsInterceptor final : public grpc::experimental::Interceptor {
 public:
  ServerMetricsInterceptor(std::shared_ptr<GrpcRpcMetrics> metrics, ServerRpcInfo* info)
      : metrics_(std::move(metrics)),
        method_(metrics_->ForMethod(info->method(), TypeName(info->type()))),
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

  std::shared_ptr<GrpcRpcMetrics> metrics_;
  GrpcRpcMetrics::Method* method_;
  std::chrono::steady_clock::time_point start_;
  bool recorded_ = false;
};

// Times outgoing calls from start to the received status.
class ClientMetricsInterceptor final : public grpc::experimental::Interceptor {
 public:
  ClientMetricsInterceptor(std::shared_ptr<GrpcRpcMetrics> metrics, ClientRpcInfo* info)
      : metrics_(std::move(metrics)),
        method_(metrics_->ForMethod(info->method(), TypeName(info->type()))),
        start_(std::chrono::steady_clock::now()) {
    method_->started->Increment();
  }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_STATUS)) {
      std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start_;
      metrics_->Handled(method_, static_cast<int>(methods->GetRecvStatus()->error_code()),
                        elapsed.count());
    }
    methods->Proceed();
  }

 private:
  std::shared_ptr<GrpcRpcMetrics> metrics_;
  GrpcRpcMetrics::Method* method_;
  std::chrono::steady_clock::time_point start_;
};

class ClientMetricsFactory final : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  explicit ClientMetricsFactory(std::shared_ptr<GrpcRpcMetrics> metrics)
      : metrics_(std::move(metrics)) {}
  grpc::experimental::Interceptor* CreateClientInterceptor(ClientRpcInfo* info) override {
    return new ClientMetricsInterceptor(metrics_, info);
  }

 private:
  std::shared_ptr<GrpcRpcMetrics> metrics_;
};

class ServerMetricsFactory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit ServerMetricsFactory(std::shared_ptr<GrpcRpcMetrics> metrics)
      : metrics_(std::move(metrics)) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(ServerRpcInfo* info) override {
    return new ServerMetricsInterceptor(metrics_, info);
  }

 private:
  std::shared_ptr<GrpcRpcMetrics> metrics_;
};

}  // namespace

Metrics::Metrics(const std::string& service)
    : registry_(std::make_shared<prometheus::Registry>()),
      grpc_(std::make_shared<GrpcRpcMetrics>(*registry_, "server")),
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

std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>
Metrics::ClientInterceptor() {
  absl::MutexLock lock(&client_mu_);
  if (grpc_client_ == nullptr)
    grpc_client_ = std::make_shared<GrpcRpcMetrics>(*registry_, "client");
  return std::make_unique<ClientMetricsFactory>(grpc_client_);
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
