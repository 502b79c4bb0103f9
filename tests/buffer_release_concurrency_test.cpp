// SPDX-License-Identifier: MIT
// Owning buffers released from other threads (run under ThreadSanitizer by
// scripts/reliability.sh tsan): copies of one `TensorBuffer`, of a tensor made by `to_tensor`
// over caller memory, and of a DLPack import are handed to many threads and dropped there in any
// order. The owner / deleter must run exactly once, on whichever thread drops the last copy, and
// the memory must stay readable until then.
#include <ai_core/dlpack.hpp>
#include <ai_core/interop.hpp>
#include <ai_core/testing/matchers.hpp>

#include <ATen/core/Tensor.h>
#include <ATen/ops/arange.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

namespace test_buffer_release {

constexpr int kThreads = 8;
constexpr int kRounds = 20;

/// Runs `body(i)` on kThreads threads at once (a spin barrier lines them up).
template <class F>
void on_threads(F body) {
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      ready.fetch_add(1);
      while (ready.load() < kThreads) std::this_thread::yield();
      body(i);
    });
  }
  for (auto& t : threads) t.join();
}

TEST(BufferReleaseConcurrencyTest, ToTensorOwnerReleasedOnceFromAnyThread) {
  for (int round = 0; round < kRounds; ++round) {
    std::atomic<int> released{0};
    std::vector<float> memory(64, 1.0f);
    const std::int64_t sizes[] = {64};
    AI_CORE_ASSERT_OK_AND_ASSIGN(auto view, ai_core::TensorBufferView::from_raw(
                                                memory.data(), 64 * sizeof(float), c10::kFloat,
                                                sizes, {}, c10::Device(c10::kCPU)));
    AI_CORE_ASSERT_OK_AND_ASSIGN(
        at::Tensor tensor, ai_core::to_tensor(view, ai_core::BufferOwner::from_callable(
                                                        [&released] { released.fetch_add(1); })));
    std::vector<at::Tensor> copies(kThreads, tensor);
    tensor = at::Tensor();
    std::atomic<int> bad_reads{0};
    on_threads([&](int i) {
      const at::Tensor mine = std::move(copies[i]);
      if (mine.data_ptr<float>()[i] != 1.0f) bad_reads.fetch_add(1);
    });
    EXPECT_EQ(bad_reads.load(), 0);
    EXPECT_EQ(released.load(), 1) << "round " << round;
  }
}

TEST(BufferReleaseConcurrencyTest, TensorBufferCopiesDroppedOnManyThreads) {
  for (int round = 0; round < kRounds; ++round) {
    at::Tensor source = at::arange(256, at::kFloat);
    AI_CORE_ASSERT_OK_AND_ASSIGN(ai_core::TensorBuffer buffer, ai_core::make_host_buffer(source));
    const c10::StorageImpl* storage = buffer.storage().unsafeGetStorageImpl();
    source = at::Tensor();  // the buffers are the only owners now
    std::vector<ai_core::TensorBuffer> copies(kThreads, buffer);
    buffer = ai_core::TensorBuffer();
    std::atomic<int> bad_reads{0};
    on_threads([&](int i) {
      ai_core::TensorBuffer mine = std::move(copies[i]);
      EXPECT_EQ(mine.storage().unsafeGetStorageImpl(), storage);
      if (static_cast<const float*>(mine.data())[i] != static_cast<float>(i))
        bad_reads.fetch_add(1);
    });
    EXPECT_EQ(bad_reads.load(), 0);
  }
}

TEST(BufferReleaseConcurrencyTest, DLPackDeleterRunsOnceFromAnyThread) {
  for (int round = 0; round < kRounds; ++round) {
    static std::atomic<int> deleted{0};
    deleted = 0;
    static float memory[32] = {};
    static std::int64_t shape[] = {32};
    DLManagedTensorVersioned managed{};
    managed.version = {DLPACK_MAJOR_VERSION, DLPACK_MINOR_VERSION};
    managed.dl_tensor.data = memory;
    managed.dl_tensor.device = {kDLCPU, 0};
    managed.dl_tensor.ndim = 1;
    managed.dl_tensor.dtype = {kDLFloat, 32, 1};
    managed.dl_tensor.shape = shape;
    managed.deleter = [](DLManagedTensorVersioned*) { deleted.fetch_add(1); };
    AI_CORE_ASSERT_OK_AND_ASSIGN(ai_core::TensorBuffer buffer, ai_core::from_dlpack(&managed));
    AI_CORE_ASSERT_OK_AND_ASSIGN(at::Tensor tensor, ai_core::to_tensor(buffer));
    std::vector<ai_core::TensorBuffer> buffers(kThreads / 2, buffer);
    std::vector<at::Tensor> tensors(kThreads / 2, tensor);
    buffer = ai_core::TensorBuffer();
    tensor = at::Tensor();
    on_threads([&](int i) {
      if (i % 2 == 0) {
        ai_core::TensorBuffer mine = std::move(buffers[i / 2]);
      } else {
        at::Tensor mine = std::move(tensors[i / 2]);
      }
    });
    EXPECT_EQ(deleted.load(), 1) << "round " << round;
  }
}

}  // namespace test_buffer_release
