// One token against sparse 1x4-block weights (decoding at batch 1): per output channel, 16 blocks at a time,
// the token's activation words at the blocks' column indices are collected into one vector and multiplied
// with the 16 weight words by one vpdpbusd; the channel's sum is the 16 lanes added. The weights stream
// through once and no padding tokens are computed, unlike the 64-token panel kernel at one token. (Plain
// loads rather than vpgatherdd and a lane sum rather than a reduce intrinsic keep it within what the AVX-512
// emulation of tests/engine/emulation provides.)
#include <immintrin.h>

#include <cassert>
#include <cstring>

#include "engine/kernels/ukernels.h"

namespace sparrow::kernels {
namespace {

template <class Index>
void spmv_rows(const std::uint8_t* x, const B4WeightsView& w, std::size_t n_begin, std::size_t n_end, std::int32_t* acc) {
  const Index* block_k4 = static_cast<const Index*>(w.block_k4);
  alignas(64) std::uint32_t acts[16];
  alignas(64) std::int32_t lanes[16];
  for (std::size_t n = n_begin; n < n_end; ++n) {
    __m512i sum = _mm512_setzero_si512();
    const std::uint32_t end = w.row_ptr[n + 1];
    for (std::uint32_t b = w.row_ptr[n]; b < end; b += 16) {
      const std::uint32_t count = end - b >= 16 ? 16 : end - b;
      for (std::uint32_t i = 0; i < count; ++i) std::memcpy(&acts[i], x + std::size_t{block_k4[b + i]} * 4, 4);
      for (std::uint32_t i = count; i < 16; ++i) acts[i] = 0;
      const __mmask16 valid = static_cast<__mmask16>(count == 16 ? 0xFFFFu : (1u << count) - 1);
      const __m512i weights = _mm512_maskz_loadu_epi32(valid, w.block_w + b);
      sum = _mm512_dpbusd_epi32(sum, _mm512_load_si512(acts), weights);
    }
    _mm512_store_si512(lanes, sum);
    std::int32_t total = 0;
    for (const std::int32_t l : lanes) total += l;
    acc[n - n_begin] = total;
  }
}

}  // namespace

void qu8_qs32_qc8w_spmv_b4_ukernel_1x1c4__avx512vnni(std::size_t mr, const std::uint8_t* x_panel, const B4WeightsView& w,
                                                      std::size_t n_begin, std::size_t n_end, std::int32_t* acc) {
  assert(mr == 1 && w.rows == 1);
  assert(n_begin <= n_end && n_end <= w.n);
  (void)mr;
  if (w.index == B4Index::u8) {
    spmv_rows<std::uint8_t>(x_panel, w, n_begin, n_end, acc);
  } else {
    spmv_rows<std::uint16_t>(x_panel, w, n_begin, n_end, acc);
  }
}

}  // namespace sparrow::kernels
