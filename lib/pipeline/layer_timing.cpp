#include "pipeline/layer_timing.h"

#include <algorithm>
#include <chrono>
#include <functional>
#include <random>

#include "engine/kernel_weights.h"
#include "engine/kernels/linear.h"
#include "engine/kernels/quant.h"
#include "engine/kernels/thread_pool.h"
#include "format/weights.h"

namespace sparrow::pipeline {

namespace {

// Median seconds per call of `call`, after one warm-up call.
double median_seconds(const std::function<void()>& call, double min_seconds) {
  using clock = std::chrono::steady_clock;
  call();
  std::vector<double> times;
  const auto start = clock::now();
  while (times.size() < 3 || std::chrono::duration<double>(clock::now() - start).count() < min_seconds) {
    const auto t0 = clock::now();
    call();
    times.push_back(std::chrono::duration<double>(clock::now() - t0).count());
  }
  std::nth_element(times.begin(), times.begin() + static_cast<std::ptrdiff_t>(times.size() / 2), times.end());
  return times[times.size() / 2];
}

}  // namespace

LayerTimes time_layer(const std::vector<std::uint8_t>& kept, std::size_t n, std::size_t k, std::size_t block_rows,
                      std::size_t m, std::size_t threads, double min_seconds) {
  namespace sk = kernels;
  std::mt19937_64 rng(42);
  std::uniform_int_distribution<int> value(1, 127), byte(0, 255);
  std::bernoulli_distribution sign(0.5);
  std::uniform_real_distribution<float> real(-1.0f, 1.0f);
  // Values do not change the work; the pattern of zeros does.
  std::vector<std::int8_t> dense_w(n * k), sparse_w(n * k);
  for (std::size_t i = 0; i < n * k; ++i) {
    dense_w[i] = static_cast<std::int8_t>(sign(rng) ? value(rng) : -value(rng));
    sparse_w[i] = kept[i] ? dense_w[i] : std::int8_t{0};
  }
  std::vector<float> y(m * n), scale(n, 0.01f), bias(n, 0.5f);
  sk::ThreadPool pool(threads);
  sk::QEpilogueParams p;
  p.x_scale = 0.02f;
  p.x_zero_point = 128;
  p.w_scale = scale.data();
  p.bias = bias.data();
  const auto panels = [&](std::size_t mr) {
    std::vector<std::uint8_t> out(sk::panels_bytes(m, k, mr));
    for (auto& v : out) v = static_cast<std::uint8_t>(byte(rng));
    return out;
  };
  LayerTimes t;

  const format::PackedWeights sparse = format::pack_sparse_int8(sparse_w.data(), n, k, block_rows);
  const engine::LinearWeights sparse_lw = engine::kernel_weights(sparse.view(), "analyze");
  const sk::SpmmB4Kernel& sparse_kernel = sk::spmm_kernel(block_rows);
  const std::vector<std::uint8_t> sparse_x = panels(sparse_kernel.mr);
  p.row_sum = sparse_lw.row_sum.data();
  t.sparse_int8 = median_seconds(
      [&] { sk::qu8_f32_qc8w_spmm_b4(sparse_x.data(), m, sparse_lw.sparse, p, y.data(), n, &pool, sparse_kernel); },
      min_seconds);
  t.sparse_kernel = sparse_kernel.name;

  const format::PackedWeights dense = format::pack_dense_int8(dense_w.data(), n, k);
  const engine::LinearWeights dense_lw = engine::kernel_weights(dense.view(), "analyze");
  const std::vector<std::uint8_t> dense_x = panels(sk::qgemm_kernel().mr);
  p.row_sum = dense_lw.row_sum.data();
  t.dense_int8 = median_seconds([&] { sk::qu8_f32_qc8w_gemm(dense_x.data(), m, dense_lw.dense, p, y.data(), n, &pool); },
                                min_seconds);

  std::vector<float> xf(m * k), wf(n * k);
  for (auto& v : xf) v = real(rng);
  for (auto& v : wf) v = real(rng);
  const format::PackedWeights f32 = format::pack_fp32(wf.data(), n, k);
  t.dense_fp32 = median_seconds(
      [&] { sk::f32_gemm(xf.data(), m, k, f32.f32.data(), n, k, bias.data(), sk::Activation::none, y.data(), n, &pool); },
      min_seconds);
  return t;
}

}  // namespace sparrow::pipeline
