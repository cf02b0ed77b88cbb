// Fused multi-head attention: one work item is one (sequence, head, block of query rows). Its keys (scaled)
// and values are packed once into the FP32 GEMM's panel layout, then for every tile of MR query rows the
// scores Q K^T (+ mask), the softmax's exponential pass and P V run back to back on data that stays in L1/L2:
// a head's packed K and V are 2 * seq * head_dim floats (64 KiB for BERT's 128 x 64), the score tile MR * seq.
#include <algorithm>
#include <cassert>
#include <limits>
#include <vector>

#include "engine/kernels/ops.h"

namespace sparrow::kernels {

namespace {

// Packs rows [0, n) of columns [0, cols) of src (row stride ld) times `factor` into panels of kF32PanelNr
// rows, [cols][kF32PanelNr] each (the fp32 weight layout, rows past n zero), for use as GEMM weights.
void pack_panels(const float* src, std::size_t ld, std::size_t n, std::size_t cols, float factor, float* panels) {
  const std::size_t count = (n + kF32PanelNr - 1) / kF32PanelNr;
  std::fill(panels, panels + count * cols * kF32PanelNr, 0.0f);
  for (std::size_t row = 0; row < n; ++row) {
    float* dst = panels + (row / kF32PanelNr) * cols * kF32PanelNr + row % kF32PanelNr;
    for (std::size_t c = 0; c < cols; ++c) dst[c * kF32PanelNr] = src[row * ld + c] * factor;
  }
}

// The transpose of src's rows [0, n) x columns [0, cols) packed the same way: panel p holds columns
// p*kF32PanelNr.. as [n][kF32PanelNr].
void pack_panels_transposed(const float* src, std::size_t ld, std::size_t n, std::size_t cols, float* panels) {
  const std::size_t count = (cols + kF32PanelNr - 1) / kF32PanelNr;
  std::fill(panels, panels + count * n * kF32PanelNr, 0.0f);
  for (std::size_t row = 0; row < n; ++row) {
    for (std::size_t c = 0; c < cols; ++c) {
      panels[(c / kF32PanelNr) * n * kF32PanelNr + row * kF32PanelNr + c % kF32PanelNr] = src[row * ld + c];
    }
  }
}

std::size_t round_up_panel(std::size_t n) { return (n + kF32PanelNr - 1) / kF32PanelNr * kF32PanelNr; }

}  // namespace

void attention_f32(const float* q, const float* k, const float* v, std::size_t ld, std::size_t batch, std::size_t seq,
                   std::size_t heads, std::size_t head_dim, const std::uint8_t* key_valid, float scale, float* out,
                   std::size_t ldo, ThreadPool* pool, const F32GemmKernel& gemm, const ExpMinusMaxSumKernel& softmax) {
  assert(seq <= kMaxAttentionSeq);
  const std::size_t mr = gemm.mr, nr = gemm.nr;
  // Split query rows only when there are fewer (sequence, head) pairs than threads: each split packs K and V
  // again.
  const std::size_t threads = pool != nullptr ? pool->size() : 1;
  const std::size_t pairs = batch * heads;
  if (pairs == 0 || seq == 0) return;
  const std::size_t splits = pairs >= threads ? 1 : std::min((threads + pairs - 1) / pairs, (seq + mr - 1) / mr);
  parallel_for(pool, pairs * splits, [&](std::size_t begin, std::size_t end) {
    std::vector<float> kp(round_up_panel(seq) * head_dim), vp(round_up_panel(head_dim) * seq), scores(mr * seq),
        bias(seq), inv_sum(mr);
    for (std::size_t item = begin; item < end; ++item) {
      const std::size_t b = item / (heads * splits), h = item / splits % heads, split = item % splits;
      const std::size_t r_begin = seq * split / splits, r_end = seq * (split + 1) / splits;
      const std::size_t in_off = b * seq * ld + h * head_dim, out_off = b * seq * ldo + h * head_dim;
      const std::uint8_t* valid = key_valid != nullptr ? key_valid + b * seq : nullptr;
      // Keys after the last valid one (a padded tail) take no part at all.
      std::size_t n = seq;
      if (valid != nullptr) {
        while (n > 0 && valid[n - 1] == 0) --n;
      }
      if (n == 0) {  // every key masked: the output rows are zero
        for (std::size_t i = r_begin; i < r_end; ++i) std::fill_n(out + out_off + i * ldo, head_dim, 0.0f);
        continue;
      }
      for (std::size_t j = 0; j < n; ++j) {
        bias[j] = valid == nullptr || valid[j] != 0 ? 0.0f : -std::numeric_limits<float>::infinity();
      }
      // The scale goes into the packed keys: scores come out of the GEMM scaled and masked (bias).
      pack_panels(k + in_off, ld, n, head_dim, scale, kp.data());
      pack_panels_transposed(v + in_off, ld, n, head_dim, vp.data());
      for (std::size_t r0 = r_begin; r0 < r_end; r0 += mr) {
        const std::size_t rows = std::min(mr, r_end - r0);
        const float* q_tile = q + in_off + r0 * ld;
        float* out_tile = out + out_off + r0 * ldo;
        for (std::size_t j0 = 0; j0 < n; j0 += nr) {
          gemm.fn(rows, std::min(nr, n - j0), head_dim, q_tile, ld, kp.data() + j0 * head_dim, bias.data() + j0,
                  Activation::none, scores.data() + j0, n);
        }
        for (std::size_t r = 0; r < rows; ++r) {
          const float sum = softmax.fn(n, scores.data() + r * n);
          inv_sum[r] = sum > 0.0f ? 1.0f / sum : 0.0f;
        }
        // Unnormalized P V, then one multiply per output instead of one per score.
        for (std::size_t c0 = 0; c0 < head_dim; c0 += nr) {
          gemm.fn(rows, std::min(nr, head_dim - c0), n, scores.data(), n, vp.data() + c0 * n, nullptr,
                  Activation::none, out_tile + c0, ldo);
        }
        for (std::size_t r = 0; r < rows; ++r) {
          for (std::size_t c = 0; c < head_dim; ++c) out_tile[r * ldo + c] *= inv_sum[r];
        }
      }
    }
  });
}

}  // namespace sparrow::kernels
