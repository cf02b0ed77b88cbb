// Tester for the INT8 linear micro-kernels (sparse block4, sparse R x 4 tiles and dense) and the GEMM driver
// over them, XNNPACK style: chainable setters describe one problem, test(kernel) checks it. Weights are packed
// by the format's packers and mapped by engine/kernel_weights.cpp, as the engine loads them from a file. Expected values come from dense math over the unpacked
// weights (reference/dense_qgemm.h): INT32 accumulators must match exactly, the FP32 epilogue to 1e-6
// relative, the requantized UINT8 output exactly.
#pragma once

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "engine/kernel_weights.h"
#include "engine/kernels/linear.h"
#include "engine/kernels/ops_ukernels.h"
#include "engine/kernels/thread_pool.h"
#include "kernels/random.h"
#include "format/weights.h"
#include "reference/dense_qgemm.h"
#include "reference/panels.h"

namespace sparrow::test {

class SpmmB4Tester {
 public:
  SpmmB4Tester& m(std::size_t v) { m_ = v; return *this; }
  SpmmB4Tester& n(std::size_t v) { n_ = v; return *this; }
  SpmmB4Tester& k(std::size_t v) { k_ = v; return *this; }
  // Fraction of 1x4 blocks that are zero (or of single weights, with unstructured()). For a sparse kernel with
  // nr = R > 1 the R rows of a tile row share the kept blocks, as an [R,4] mask leaves them.
  SpmmB4Tester& sparsity(double v) { sparsity_ = v; return *this; }
  // Zero single weights instead of whole blocks: kept blocks then hold zeros (padded blocks).
  SpmmB4Tester& unstructured(bool v) { unstructured_ = v; return *this; }
  SpmmB4Tester& empty_rows(double fraction) { empty_rows_ = fraction; return *this; }
  SpmmB4Tester& dense_rows(double fraction) { dense_rows_ = fraction; return *this; }
  // Activation zero point; -1 draws one at random.
  SpmmB4Tester& zero_point(int v) { zero_point_ = v; return *this; }
  // Activations and weights only at their extremes (0/255, -127/127): largest accumulators.
  SpmmB4Tester& extremes(bool v) { extremes_ = v; return *this; }
  SpmmB4Tester& activation(kernels::Activation v) { activation_ = v; return *this; }
  SpmmB4Tester& bias(bool v) { bias_ = v; return *this; }
  SpmmB4Tester& requantize(bool v) { requantize_ = v; return *this; }
  // Requantized output written as the next layer's activation panels instead of row-major.
  SpmmB4Tester& panel_output(bool v) { panel_output_ = v; return *this; }
  // Row stride of the output, in elements (0: n).
  SpmmB4Tester& output_stride(std::size_t v) { output_stride_ = v; return *this; }
  SpmmB4Tester& threads(std::size_t v) { threads_ = v; return *this; }
  SpmmB4Tester& seed(std::uint64_t v) { seed_ = v; return *this; }

  void test(const kernels::SpmmB4Kernel& kernel) const {
    const Problem p = make(kernel.nr);
    // Packed by the format's packer and mapped as the engine maps a file's arrays: what the engine runs.
    const format::PackedWeights packed = format::pack_sparse_int8(p.w.data(), n_, k_, kernel.nr);
    const engine::LinearWeights lw = engine::kernel_weights(packed.view(), "test");
    if (lw.row_sum != p.row_sum) FAIL(describe(kernel.name) << ": row sums");
    check_ukernel(kernel.name, kernel.mr, p, kernel.nr, [&](const std::uint8_t* panel, std::size_t n0, std::size_t n1,
                                                     std::int32_t* acc) {
      kernel.fn(kernel.mr, panel, lw.sparse, n0, n1, acc);
    });
    check_op(kernel.name, kernel.mr, p, [&](const std::uint8_t* x, const kernels::QEpilogueParams& ep, void* y,
                                            std::size_t ldy, kernels::ThreadPool* pool) {
      if (panel_output_) {
        kernels::qu8_qu8_qc8w_spmm_b4_panels(x, m_, lw.sparse, ep, static_cast<std::uint8_t*>(y), pool, kernel);
      } else if (requantize_) {
        kernels::qu8_qu8_qc8w_spmm_b4(x, m_, lw.sparse, ep, static_cast<std::uint8_t*>(y), ldy, pool, kernel);
      } else {
        kernels::qu8_f32_qc8w_spmm_b4(x, m_, lw.sparse, ep, static_cast<float*>(y), ldy, pool, kernel);
      }
    });
  }

  void test(const kernels::QGemmKernel& kernel) const {
    const Problem p = make(1);
    const format::PackedWeights packed = format::pack_dense_int8(p.w.data(), n_, k_);
    const engine::LinearWeights lw = engine::kernel_weights(packed.view(), "test");
    if (lw.row_sum != p.row_sum) FAIL(describe(kernel.name) << ": row sums");
    check_ukernel(kernel.name, kernel.mr, p, kernels::kDenseQc8wNr,
                  [&](const std::uint8_t* panel, std::size_t n0, std::size_t n1, std::int32_t* acc) {
                    kernel.fn(kernel.mr, panel, lw.dense, n0, n1, acc);
                  });
    check_op(kernel.name, kernel.mr, p, [&](const std::uint8_t* x, const kernels::QEpilogueParams& ep, void* y,
                                            std::size_t ldy, kernels::ThreadPool* pool) {
      if (panel_output_) {
        kernels::qu8_qu8_qc8w_gemm_panels(x, m_, lw.dense, ep, static_cast<std::uint8_t*>(y), pool, kernel);
      } else if (requantize_) {
        kernels::qu8_qu8_qc8w_gemm(x, m_, lw.dense, ep, static_cast<std::uint8_t*>(y), ldy, pool, kernel);
      } else {
        kernels::qu8_f32_qc8w_gemm(x, m_, lw.dense, ep, static_cast<float*>(y), ldy, pool, kernel);
      }
    });
  }

 private:
  struct Problem {
    std::vector<std::int8_t> w;   // [n][k]
    std::vector<std::uint8_t> x;  // [m][k]
    std::vector<float> w_scale, bias;
    kernels::QEpilogueParams params;
    std::vector<std::int32_t> acc;  // dense reference [m][n]
    std::vector<std::int32_t> row_sum;
  };

  std::string describe(const char* kernel) const {
    std::ostringstream s;
    s << kernel << " m=" << m_ << " n=" << n_ << " k=" << k_ << " sparsity=" << sparsity_
      << (unstructured_ ? " unstructured" : " block4") << " seed=" << seed_;
    return s.str();
  }

  // Weights whose kept blocks are shared by the `rows` rows of each tile row (the last one may be ragged).
  Problem make(std::size_t rows) const {
    Rng rng(seed_);
    Problem p;
    p.w.assign(n_ * k_, 0);
    const auto weight = [&] {
      if (extremes_) return static_cast<std::int8_t>(rng.chance(0.5) ? 127 : -127);
      return static_cast<std::int8_t>(rng.uniform_int(-127, 127));
    };
    std::vector<bool> tile_keep;
    for (std::size_t r = 0; r < n_; ++r) {
      if (r % rows == 0) {
        tile_keep.clear();
        for (std::size_t b = 0; b * 4 < k_; ++b) tile_keep.push_back(!rng.chance(sparsity_));
      }
      const bool empty = rng.chance(empty_rows_), dense = !empty && rng.chance(dense_rows_);
      if (empty) continue;
      for (std::size_t b = 0; b * 4 < k_; ++b) {
        const bool keep_block = dense || unstructured_ || tile_keep[b];
        if (!keep_block) continue;
        for (std::size_t i = b * 4; i < std::min(k_, b * 4 + 4); ++i) {
          if (unstructured_ && !dense && rng.chance(sparsity_)) continue;
          p.w[r * k_ + i] = dense ? static_cast<std::int8_t>(rng.chance(0.5) ? rng.uniform_int(1, 127) : rng.uniform_int(-127, -1))
                                  : weight();
        }
      }
    }
    p.x.resize(m_ * k_);
    for (auto& v : p.x) v = static_cast<std::uint8_t>(extremes_ ? (rng.chance(0.5) ? 255 : 0) : rng.uniform_int(0, 255));
    p.w_scale.resize(n_);
    for (auto& s : p.w_scale) s = rng.uniform(1e-4f, 2e-2f);
    if (bias_) {
      p.bias.resize(n_);
      for (auto& b : p.bias) b = rng.uniform(-5.0f, 5.0f);
    }
    p.params.x_scale = rng.uniform(1e-3f, 5e-2f);
    p.params.x_zero_point = zero_point_ >= 0 ? zero_point_ : rng.uniform_int(0, 255);
    p.params.w_scale = p.w_scale.data();
    p.params.bias = bias_ ? p.bias.data() : nullptr;
    p.params.activation = activation_;
    p.params.y = {rng.uniform(0.01f, 0.2f), rng.uniform_int(0, 255)};
    p.acc = dense_qgemm_acc(p.x, p.w, m_, n_, k_);
    p.row_sum = dense_row_sums(p.w, n_, k_);
    p.params.row_sum = p.row_sum.data();
    return p;
  }

  // Calls the micro-kernel panel by panel over random channel ranges (aligned to `align`).
  template <class Call>
  void check_ukernel(const char* name, std::size_t mr, const Problem& p, std::size_t align, Call call) const {
    const std::vector<std::uint8_t> panels = pack_panels_u8(p.x, m_, k_, mr);
    Rng rng(seed_ ^ 0x5eed);
    for (std::size_t panel = 0; panel < kernels::panel_count(m_, mr); ++panel) {
      for (std::size_t n0 = 0; n0 < n_;) {
        std::size_t n1 = std::min(n_, n0 + static_cast<std::size_t>(rng.uniform_int(1, 40)));
        if (n1 < n_) n1 = std::max(n0 + align, n1 / align * align);
        n1 = std::min(n1, n_);
        std::vector<std::int32_t> acc((n1 - n0) * mr, -1);
        call(panels.data() + panel * kernels::panel_stride(k_, mr), n0, n1, acc.data());
        for (std::size_t c = n0; c < n1; ++c) {
          for (std::size_t t = panel * mr; t < std::min(m_, (panel + 1) * mr); ++t) {
            const std::int32_t got = acc[(c - n0) * mr + t - panel * mr], want = p.acc[t * n_ + c];
            if (got != want) {
              FAIL(describe(name) << ": INT32 accumulator token " << t << " channel " << c << " (panel " << panel
                                  << ", channels " << n0 << ".." << n1 << "): got " << got << ", want " << want);
            }
          }
        }
        n0 = n1;
      }
    }
  }

  template <class Op>
  void check_op(const char* name, std::size_t mr, const Problem& p, Op op) const {
    const std::vector<std::uint8_t> panels = pack_panels_u8(p.x, m_, k_, mr);
    const std::size_t ldy = output_stride_ != 0 ? output_stride_ : n_;
    kernels::ThreadPool pool(threads_);
    if (panel_output_) {
      std::vector<std::uint8_t> y(kernels::panels_bytes(m_, n_, mr), 0xA5);
      op(panels.data(), p.params, y.data(), 0, &pool);
      for (std::size_t t = 0; t < kernels::panel_count(m_, mr) * mr; ++t) {
        for (std::size_t c = 0; c < kernels::round_up_4(n_); ++c) {
          const std::size_t at = (t / mr) * kernels::panel_stride(n_, mr) + (c / 4) * mr * 4 + (t % mr) * 4 + c % 4;
          const auto [lo, hi] = t < m_ && c < n_ ? requantized(p, t, c) : std::pair{0xA5, 0xA5};
          if (y[at] < lo || y[at] > hi) {
            FAIL(describe(name) << ": UINT8 panel output token " << t << " channel " << c << ": got " << int{y[at]}
                                << ", want " << lo << (hi != lo ? " or " + std::to_string(hi) : std::string())
                                << (lo == 0xA5 ? " (padding must stay untouched)" : ""));
          }
        }
      }
      return;
    }
    if (requantize_) {
      std::vector<std::uint8_t> y(m_ * ldy, 0xA5);
      op(panels.data(), p.params, y.data(), ldy, &pool);
      for (std::size_t t = 0; t < m_; ++t) {
        for (std::size_t c = 0; c < ldy; ++c) {
          const auto [lo, hi] = c < n_ ? requantized(p, t, c) : std::pair{0xA5, 0xA5};
          if (y[t * ldy + c] < lo || y[t * ldy + c] > hi) {
            FAIL(describe(name) << ": UINT8 output token " << t << " channel " << c << ": got " << int{y[t * ldy + c]}
                                << ", want " << lo << (hi != lo ? " or " + std::to_string(hi) : std::string()));
          }
        }
      }
      return;
    }
    std::vector<float> y(m_ * ldy, -1234.5f);
    op(panels.data(), p.params, y.data(), ldy, &pool);
    for (std::size_t t = 0; t < m_; ++t) {
      for (std::size_t c = 0; c < ldy; ++c) {
        const float got = y[t * ldy + c];
        if (c >= n_) {
          if (got != -1234.5f) FAIL(describe(name) << ": wrote past the row, token " << t << " column " << c);
          continue;
        }
        const ExpectedValue e = expected_epilogue(p.acc[t * n_ + c], c, p.params, p.row_sum);
        if (!(std::fabs(got - e.value) <= 1e-6 * e.magnitude + 1e-30)) {
          FAIL(describe(name) << ": FP32 output token " << t << " channel " << c << ": got " << got << ", want "
                              << e.value << " (acc " << p.acc[t * n_ + c] << ")");
        }
      }
    }
  }

  // The requantization spelled out in the trainer's FP32 operations (quant.h). A vector GELU may be off the
  // reference by 2e-7 * max(1, |x|) (test_epilogue.cpp), so with GELU either neighbour of a rounding boundary
  // that close is right: this returns the lowest and highest acceptable byte.
  std::pair<int, int> requantized(const Problem& p, std::size_t t, std::size_t c) const {
    const kernels::QEpilogueParams& ep = p.params;
    float v = static_cast<float>(p.acc[t * n_ + c] - ep.x_zero_point * p.row_sum[c]) * (ep.x_scale * ep.w_scale[c]);
    if (ep.bias != nullptr) v = v + ep.bias[c];
    if (ep.activation == kernels::Activation::relu) v = v > 0.0f ? v : 0.0f;
    float error = 0.0f;
    if (ep.activation == kernels::Activation::gelu) {
      error = 2e-7f * std::max(1.0f, std::fabs(v));
      v = kernels::f32_gelu_ref(v);
    }
    const auto quantize = [&](float u) {
      const float q = std::nearbyint(u / ep.y.scale) + static_cast<float>(ep.y.zero_point);
      return static_cast<int>(std::clamp(q, 0.0f, 255.0f));
    };
    return {quantize(v - error), quantize(v + error)};
  }

  std::size_t m_ = 1, n_ = 1, k_ = 4;
  double sparsity_ = 0.0, empty_rows_ = 0.0, dense_rows_ = 0.0;
  bool unstructured_ = false, extremes_ = false, bias_ = true, requantize_ = false, panel_output_ = false;
  int zero_point_ = -1;
  kernels::Activation activation_ = kernels::Activation::none;
  std::size_t output_stride_ = 0, threads_ = 1;
  std::uint64_t seed_ = 0;
};

}  // namespace sparrow::test
