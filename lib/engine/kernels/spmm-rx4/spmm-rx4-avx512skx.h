// AVX-512BW without VNNI, R x 4 tiles generic over R: the exact widening of the spmm-b4 skx kernel
// (zero-extended UINT8 x INT16 weights with vpmaddwd, 8 tokens per zmm), each activation load feeding the
// R channels of a tile. 16 accumulators: a pass covers 16 / R groups of 8 tokens for all R channels.
// Included only by the per-R kernel files; internal linkage keeps the AVX-512 code in them.
#pragma once

#include <immintrin.h>

#include "engine/kernels/ukernels.h"

namespace sparrow::kernels {
namespace {

template <std::size_t R, class Index>
void spmm_tile_rows(std::size_t /*mr*/, const std::uint8_t* x_panel, const B4WeightsView& w, std::size_t n_begin,
                    std::size_t n_end, std::int32_t* acc) {
  constexpr std::size_t kMr = 64, kPanelK4Bytes = kMr * 4;
  constexpr int kGroups = 16 / R < 8 ? 16 / R : 8;  // groups of 8 tokens per pass
  const Index* const block_k4 = static_cast<const Index*>(w.block_k4);
  for (std::size_t tile_row = n_begin / R; tile_row * R < n_end; ++tile_row) {
    const std::size_t rows = n_end - tile_row * R < R ? n_end - tile_row * R : R;
    const Index* const first = block_k4 + w.row_ptr[tile_row];
    const Index* const end = block_k4 + w.row_ptr[tile_row + 1];
    std::int32_t* const out = acc + (tile_row * R - n_begin) * kMr;
    for (int pass = 0; pass < 8 / kGroups; ++pass) {
      __m512i a[R][kGroups];
      #pragma GCC unroll 4
      for (auto& row : a)
        for (auto& v : row) v = _mm512_setzero_si512();
      const std::int32_t* wb = w.block_w + std::size_t{w.row_ptr[tile_row]} * R;
      for (const Index* k4 = first; k4 != end; ++k4, wb += R) {
        const std::uint8_t* x = x_panel + std::size_t{*k4} * kPanelK4Bytes + pass * kGroups * 32;
        __m512i xv[kGroups];
        #pragma GCC unroll 16
        for (int g = 0; g < kGroups; ++g)
          xv[g] = _mm512_cvtepu8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + 32 * g)));
        #pragma GCC unroll 4
        for (std::size_t r = 0; r < R; ++r) {
          const __m512i wv = _mm512_broadcastq_epi64(_mm_cvtepi8_epi16(_mm_cvtsi32_si128(wb[r])));
          #pragma GCC unroll 16
          for (int g = 0; g < kGroups; ++g) a[r][g] = _mm512_add_epi32(a[r][g], _mm512_madd_epi16(xv[g], wv));
        }
      }
      #pragma GCC unroll 4
      for (std::size_t r = 0; r < R && r < rows; ++r) {
        #pragma GCC unroll 16
        for (int g = 0; g < kGroups; ++g) {
          // Each qword holds one token's two partial sums: add them and keep the low dword.
          const __m512i s = _mm512_add_epi32(a[r][g], _mm512_srli_epi64(a[r][g], 32));
          _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + r * kMr + (pass * kGroups + g) * 8),
                              _mm512_cvtepi64_epi32(s));
        }
      }
    }
  }
}

}  // namespace
}  // namespace sparrow::kernels

#include "engine/kernels/spmm-rx4/spmm-rx4-entry.h"
