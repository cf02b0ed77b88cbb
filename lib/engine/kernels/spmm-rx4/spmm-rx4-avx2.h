// AVX2 R x 4 tiles, generic over R: the exact widening of the spmm-b4 AVX2 kernel (UINT8 activations
// zero-extended to INT16, vpmaddwd with the block's 4 weights, 2 products per INT32 lane), but each
// widened activation feeds 2 channels of a tile. 8 accumulators: a pass covers 2 channels x 16 tokens;
// 2 passes per channel pair cover the panel's 32 tokens (the 16 ymm registers hold no more).
// Included only by the per-R kernel files; internal linkage keeps the AVX2 code in them.
#pragma once

#include <immintrin.h>

#include "engine/kernels/ukernels.h"

namespace sparrow::kernels {
namespace {

// Row r's 4 weights (word r of the tile) as INT16, repeated for each token of a vector: the word broadcast
// to 4 dwords, then sign-extended (2 instructions, the broadcast from memory).
inline __m256i row_weights(const std::int32_t* word) {
  return _mm256_cvtepi8_epi16(_mm_set1_epi32(*word));
}

// Tokens 4g..4g+3 of a panel row, zero-extended to INT16.
inline __m256i tile_tokens(const std::uint8_t* x, int g) {
  return _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x + 16 * g)));
}

template <std::size_t R, class Index>
void spmm_tile_rows(std::size_t /*mr*/, const std::uint8_t* x_panel, const B4WeightsView& w, std::size_t n_begin,
                    std::size_t n_end, std::int32_t* acc) {
  static_assert(R == 2 || R == 4);
  constexpr std::size_t kMr = 32, kPanelK4Bytes = kMr * 4;
  constexpr int kGroups = 4;        // groups of 4 tokens per pass: half the panel
  constexpr std::size_t kRows = 2;  // channels per pass
  const Index* const block_k4 = static_cast<const Index*>(w.block_k4);
  for (std::size_t tile_row = n_begin / R; tile_row * R < n_end; ++tile_row) {
    const std::size_t rows = n_end - tile_row * R < R ? n_end - tile_row * R : R;
    const Index* const first = block_k4 + w.row_ptr[tile_row];
    const Index* const end = block_k4 + w.row_ptr[tile_row + 1];
    for (std::size_t r0 = 0; r0 < rows; r0 += kRows) {
      std::int32_t* const out = acc + (tile_row * R + r0 - n_begin) * kMr;
      for (int half = 0; half < 2; ++half) {
        __m256i a[kRows][kGroups];
        #pragma GCC unroll 2
        for (std::size_t r = 0; r < kRows; ++r) {
          #pragma GCC unroll 4
          for (int g = 0; g < kGroups; ++g) a[r][g] = _mm256_setzero_si256();
        }
        const std::int32_t* wb = w.block_w + std::size_t{w.row_ptr[tile_row]} * R + r0;
        for (const Index* k4 = first; k4 != end; ++k4, wb += R) {
          const std::uint8_t* x = x_panel + std::size_t{*k4} * kPanelK4Bytes + half * kGroups * 16;
          __m256i xv[kGroups];
          #pragma GCC unroll 4
          for (int g = 0; g < kGroups; ++g) xv[g] = tile_tokens(x, g);
          #pragma GCC unroll 2
          for (std::size_t r = 0; r < kRows; ++r) {
            const __m256i wv = row_weights(wb + r);
            #pragma GCC unroll 4
            for (int g = 0; g < kGroups; ++g) a[r][g] = _mm256_add_epi32(a[r][g], _mm256_madd_epi16(xv[g], wv));
          }
        }
        // hadd gives tokens [0 1 4 5 | 2 3 6 7] of a group pair; the qword permute restores token order.
        #pragma GCC unroll 2
        for (std::size_t r = 0; r < kRows; ++r) {
          if (r0 + r >= rows) break;
          #pragma GCC unroll 2
          for (int g = 0; g < kGroups; g += 2) {
            const __m256i s = _mm256_permute4x64_epi64(_mm256_hadd_epi32(a[r][g], a[r][g + 1]), 0xD8);
            _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + r * kMr + (half * kGroups + g) * 4), s);
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace sparrow::kernels

#include "engine/kernels/spmm-rx4/spmm-rx4-entry.h"
