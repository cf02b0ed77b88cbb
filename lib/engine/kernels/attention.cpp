// Fused multi-head attention, FP32 and INT8: one work item is one (sequence, head, block of query rows). Its
// keys and values are packed once into the GEMM's weight layout (FP32 panels, or the dense INT8 layout), then for
// every tile of MR query rows the scores Q K^T (+ mask), the softmax's exponential pass and P V run back to back
// on data that stays in L1/L2: a head's packed K and V are 2 * seq * head_dim floats (64 KiB for BERT's 128 x 64),
// a quarter of that in INT8, the score tile MR * seq.
#include <algorithm>
#include <cassert>
#include <cstring>
#include <emmintrin.h>
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

// Runs item(b, h, r_begin, r_end, n, valid) for every (sequence, head, block of query rows), split over the
// pool: n is the number of keys up to the last valid one (a padded tail takes no part at all), valid the
// sequence's key mask or null. Query rows are split only when there are fewer (sequence, head) pairs than
// threads, since each split packs K and V again. Rows whose keys are all masked are zero.
template <class Item>
void for_each_attention_item(std::size_t batch, std::size_t seq, std::size_t heads, std::size_t head_dim, std::size_t mr,
                             const std::uint8_t* key_valid, float* out, std::size_t ldo, ThreadPool* pool,
                             const Item& item) {
  assert(seq <= kMaxAttentionSeq);
  const std::size_t threads = pool != nullptr ? pool->size() : 1;
  const std::size_t pairs = batch * heads;
  if (pairs == 0 || seq == 0) return;
  const std::size_t splits = pairs >= threads ? 1 : std::min((threads + pairs - 1) / pairs, (seq + mr - 1) / mr);
  parallel_for(pool, pairs * splits, [&](std::size_t begin, std::size_t end) {
    for (std::size_t i = begin; i < end; ++i) {
      const std::size_t b = i / (heads * splits), h = i / splits % heads, split = i % splits;
      const std::size_t r_begin = seq * split / splits, r_end = seq * (split + 1) / splits;
      const std::uint8_t* valid = key_valid != nullptr ? key_valid + b * seq : nullptr;
      std::size_t n = seq;
      if (valid != nullptr) {
        while (n > 0 && valid[n - 1] == 0) --n;
      }
      if (n == 0) {
        for (std::size_t r = r_begin; r < r_end; ++r) std::fill_n(out + (b * seq + r) * ldo + h * head_dim, head_dim, 0.0f);
        continue;
      }
      item(b, h, r_begin, r_end, n, valid);
    }
  });
}

// 4 UINT8 values with zero point 128 as 4 INT8 values: flipping the top bit subtracts 128.
constexpr std::uint32_t kFlipToInt8 = 0x80808080u;

std::uint32_t load_word(const std::uint8_t* p) {
  std::uint32_t w;
  std::memcpy(&w, p, 4);
  return w;
}

// Bytes [c, c + 4) of a row of `cols` values as one word, zero past the row's end.
std::uint32_t row_word(const std::uint8_t* row, std::size_t c, std::size_t cols, std::uint8_t pad) {
  if (c + 4 <= cols) return load_word(row + c);
  std::uint8_t b[4] = {pad, pad, pad, pad};
  for (std::size_t i = 0; c + i < cols; ++i) b[i] = row[c + i];
  return load_word(b);
}

// Keys [0, n) of one head as dense INT8 weights (DenseQc8wView layout, N = n keys, K = head_dim), moved a
// word (4 values) at a time. row_sum[j] = the sum of key j's INT8 values.
void pack_keys_qs8(const std::uint8_t* k, std::size_t ld, std::size_t n, std::size_t head_dim, std::int32_t* w,
                   std::int32_t* row_sum) {
  const std::size_t k4 = (head_dim + 3) / 4;
  std::fill(w, w + round_up_4(n) * k4, 0);
  for (std::size_t j = 0; j < n; ++j) {
    const std::uint8_t* row = k + j * ld;
    std::int32_t sum = 0;
    for (std::size_t c = 0; c < head_dim; ++c) sum += row[c];
    row_sum[j] = sum - 128 * static_cast<std::int32_t>(head_dim);
    std::int32_t* dst = w + (j / 4) * k4 * 4 + j % 4;
    // Padding inputs (past head_dim) are INT8 0, the byte 128 before the flip.
    for (std::size_t i = 0; i < k4; ++i) dst[i * 4] = static_cast<std::int32_t>(row_word(row, 4 * i, head_dim, 0x80) ^ kFlipToInt8);
  }
}

// V of one head, keys [0, n), transposed into dense INT8 weights for P V (N = head_dim channels, K = n keys): the
// 4 keys of a group and 4 channels form one 16-byte block of the layout (the 4 channels' words side by side).
// 16 channels of 4 keys at a time are a 4 x 16 byte transpose with SSE2 (x86-64's baseline, no ISA flag), the
// ragged rest a byte at a time.
void pack_values_qs8(const std::uint8_t* v, std::size_t ld, std::size_t n, std::size_t head_dim, std::int32_t* w) {
  const std::size_t k4 = (n + 3) / 4;
  std::fill(w, w + round_up_4(head_dim) * k4, 0);
  auto* bytes = reinterpret_cast<std::uint8_t*>(w);
  const auto block = [&](std::size_t c, std::size_t j4) { return bytes + ((c / 4) * k4 + j4) * 16; };
  const std::size_t full_keys = n / 4 * 4, full_channels = head_dim / 16 * 16;
  const __m128i flip = _mm_set1_epi8(static_cast<char>(0x80));
  for (std::size_t j = 0; j < full_keys; j += 4) {
    for (std::size_t c = 0; c < full_channels; c += 16) {
      const auto row = [&](std::size_t r) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(v + (j + r) * ld + c)); };
      const __m128i r0 = row(0), r1 = row(1), r2 = row(2), r3 = row(3);
      const __m128i lo01 = _mm_unpacklo_epi8(r0, r1), hi01 = _mm_unpackhi_epi8(r0, r1);
      const __m128i lo23 = _mm_unpacklo_epi8(r2, r3), hi23 = _mm_unpackhi_epi8(r2, r3);
      const __m128i out[4] = {_mm_unpacklo_epi16(lo01, lo23), _mm_unpackhi_epi16(lo01, lo23),
                              _mm_unpacklo_epi16(hi01, hi23), _mm_unpackhi_epi16(hi01, hi23)};
      for (std::size_t g = 0; g < 4; ++g)
        _mm_storeu_si128(reinterpret_cast<__m128i*>(block(c + 4 * g, j / 4)), _mm_xor_si128(out[g], flip));
    }
  }
  // Keys of a ragged last group, and channels past the last 16 (padding stays INT8 0).
  for (std::size_t j = 0; j < n; ++j) {
    for (std::size_t c = j < full_keys ? full_channels : 0; c < head_dim; ++c)
      block(c, j / 4)[(c % 4) * 4 + j % 4] = static_cast<std::uint8_t>(v[j * ld + c] ^ 0x80u);
  }
}

// Query rows [0, rows) of one head into an activation panel of height mr (kernels/quant.h layout), a word at a
// time; rows past `rows` are zero.
void pack_queries_qu8(const std::uint8_t* q, std::size_t ld, std::size_t rows, std::size_t head_dim, std::size_t mr,
                      std::uint8_t* panel) {
  const std::size_t k4 = (head_dim + 3) / 4;
  std::fill(panel, panel + k4 * mr * 4, std::uint8_t{0});
  for (std::size_t i = 0; i < k4; ++i) {
    for (std::size_t t = 0; t < rows; ++t) {
      const std::uint32_t word = row_word(q + t * ld, 4 * i, head_dim, 0);
      std::memcpy(panel + (i * mr + t) * 4, &word, 4);
    }
  }
}

}  // namespace

void attention_f32(const float* q, const float* k, const float* v, std::size_t ld, std::size_t batch, std::size_t seq,
                   std::size_t heads, std::size_t head_dim, const std::uint8_t* key_valid, float scale, float* out,
                   std::size_t ldo, ThreadPool* pool, const F32GemmKernel& gemm, const ExpMinusMaxSumKernel& softmax) {
  const std::size_t mr = gemm.mr, nr = gemm.nr;
  for_each_attention_item(batch, seq, heads, head_dim, mr, key_valid, out, ldo, pool, [&](std::size_t b, std::size_t h,
                          std::size_t r_begin, std::size_t r_end, std::size_t n, const std::uint8_t* valid) {
      thread_local std::vector<float> kp, vp, scores, bias, inv_sum;
      kp.resize(round_up_panel(seq) * head_dim);
      vp.resize(round_up_panel(head_dim) * seq);
      scores.resize(mr * seq);
      bias.resize(seq);
      inv_sum.resize(mr);
      const std::size_t in_off = b * seq * ld + h * head_dim, out_off = b * seq * ldo + h * head_dim;
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
  });
}

void attention_qu8(const std::uint8_t* q, const std::uint8_t* k, const std::uint8_t* v, std::size_t ld,
                   std::size_t batch, std::size_t seq, std::size_t heads, std::size_t head_dim,
                   const std::uint8_t* key_valid, const AttentionQuant& quant, float scale, float* out, std::size_t ldo,
                   ThreadPool* pool, const QGemmKernel& gemm, const QEpilogueKernel& epilogue,
                   const ExpMinusMaxSumKernel& softmax, const QuantizePackKernel& pack) {
  const std::size_t mr = gemm.mr;
  const std::size_t head_k4 = (head_dim + 3) / 4, seq_k4 = (seq + 3) / 4;
  const quant::ActivationParams probs = quant::attention_probs_params();
  for_each_attention_item(batch, seq, heads, head_dim, mr, key_valid, out, ldo, pool, [&](std::size_t b, std::size_t h,
                          std::size_t r_begin, std::size_t r_end, std::size_t n, const std::uint8_t* valid) {
    thread_local std::vector<std::int32_t> kw, vw, key_sum, zeros, acc;
    thread_local std::vector<float> key_scale, value_scale, bias, scores;
    thread_local std::vector<std::uint8_t> q_panel, p_panel;
    kw.resize(round_up_4(seq) * head_k4);
    vw.resize(round_up_4(head_dim) * seq_k4);
    key_sum.resize(seq);
    zeros.assign(head_dim, 0);
    acc.resize(std::max(round_up_4(seq), round_up_4(head_dim)) * mr);
    // Scores: float(acc - zp_q * key_sum) * (s_q * (s_k * scale)), the linear layers' epilogue with K as weights.
    key_scale.assign(seq, quant.k_scale * scale);
    value_scale.assign(head_dim, quant.v_scale);
    bias.resize(seq);
    scores.resize(mr * seq);
    q_panel.resize(panel_stride(head_dim, mr));
    p_panel.assign(panel_stride(seq, mr), 0);
    for (std::size_t j = 0; j < n; ++j) {
      bias[j] = valid == nullptr || valid[j] != 0 ? 0.0f : -std::numeric_limits<float>::infinity();
    }
    const std::size_t in_off = b * seq * ld + h * head_dim, out_off = b * seq * ldo + h * head_dim;
    pack_keys_qs8(k + in_off, ld, n, head_dim, kw.data(), key_sum.data());
    pack_values_qs8(v + in_off, ld, n, head_dim, vw.data());
    const DenseQc8wView keys{n, head_k4, kw.data()}, values{head_dim, (n + 3) / 4, vw.data()};
    QEpilogueParams score_params;
    score_params.x_scale = quant.q.scale;
    score_params.x_zero_point = quant.q.zero_point;
    score_params.w_scale = key_scale.data();
    score_params.row_sum = key_sum.data();
    score_params.bias = valid != nullptr ? bias.data() : nullptr;
    QEpilogueParams out_params;
    out_params.x_scale = probs.scale;
    out_params.w_scale = value_scale.data();
    out_params.row_sum = zeros.data();
    for (std::size_t r0 = r_begin; r0 < r_end; r0 += mr) {
      const std::size_t rows = std::min(mr, r_end - r0);
      pack_queries_qu8(q + in_off + r0 * ld, ld, rows, head_dim, mr, q_panel.data());
      gemm.fn(mr, q_panel.data(), keys, 0, n, acc.data());
      epilogue.f32(rows, mr, 0, n, acc.data(), score_params, scores.data(), n);
      // P = exp(s - max) / sum quantized with scale 1/255, straight into the activation panel P V reads: one
      // pass, as e / (sum / 255) (the row has a valid key, so sum >= 1).
      for (std::size_t r = 0; r < rows; ++r) {
        float* row = scores.data() + r * n;
        const float sum = softmax.fn(n, row);
        pack.fn(row, n, {probs.scale * sum, 0}, mr, p_panel.data() + r * 4);
      }
      gemm.fn(mr, p_panel.data(), values, 0, head_dim, acc.data());
      epilogue.f32(rows, mr, 0, head_dim, acc.data(), out_params, out + out_off + r0 * ldo, ldo);
    }
  });
}

}  // namespace sparrow::kernels
