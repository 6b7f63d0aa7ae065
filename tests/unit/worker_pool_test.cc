#include "common/worker_pool.h"

#include <atomic>
#include <catch2/catch.hpp>

namespace liaison {
namespace {

TEST_CASE("A worker pool runs everything posted before it is destroyed") {
  std::atomic<int> done{0};
  {
    WorkerPool pool(3);
    for (int i = 0; i < 1000; ++i) pool.Post([&done] { done.fetch_add(1); });
  }
  CHECK(done.load() == 1000);
}

TEST_CASE("A one-thread pool runs work in the order it was posted") {
  std::vector<int> order;
  {
    WorkerPool pool(1);
    for (int i = 0; i < 100; ++i) pool.Post([&order, i] { order.push_back(i); });
  }
  REQUIRE(order.size() == 100);
  for (int i = 0; i < 100; ++i) CHECK(order[i] == i);
}

}  // namespace
}  // namespace liaison
