// The hot R x 4 tile kernel, generic over R. Per tile: its column index into a general register, its R weight
// words broadcast, 4 panel loads of 16 tokens x 4 inputs feeding 4R vpdpbusd (one load per R multiply-adds,
// where spmm-b4 has one per multiply-add). 4R accumulators: 8 independent chains for R = 2 hide vpdpbusd's
// 4-cycle latency, 16 for R = 4.
// GCC 12 copies accumulators around _mm512_dpbusd_epi32 in loops (../shared/KERNELS.md), so the tile's body is
// asm: loads and channels 0-1 in one statement, channels 2-3 in a second (one would exceed GCC's 30 asm
// operands). Included only by the per-R kernel files; internal linkage keeps the AVX-512 code
// in them.
#pragma once

#include <immintrin.h>

#include "engine/kernels/ukernels.h"

namespace sparrow::kernels {
namespace {

template <std::size_t R, class Index>
void spmm_tile_rows(std::size_t /*mr*/, const std::uint8_t* x_panel, const B4WeightsView& w, std::size_t n_begin,
                    std::size_t n_end, std::int32_t* acc) {
  static_assert(R == 2 || R == 4);
  constexpr std::size_t kMr = 64, kPanelK4Bytes = kMr * 4;
  const Index* const block_k4 = static_cast<const Index*>(w.block_k4);
  for (std::size_t tile_row = n_begin / R; tile_row * R < n_end; ++tile_row) {
    const std::size_t rows = n_end - tile_row * R < R ? n_end - tile_row * R : R;
    __m512i a[R][4];
    #pragma GCC unroll 4
    for (auto& row : a)
      for (auto& v : row) v = _mm512_setzero_si512();
    const std::int32_t* wb = w.block_w + std::size_t{w.row_ptr[tile_row]} * R;
    for (const Index *k4 = block_k4 + w.row_ptr[tile_row], *end = block_k4 + w.row_ptr[tile_row + 1]; k4 != end;
         ++k4, wb += R) {
      const std::uint8_t* x = x_panel + std::size_t{*k4} * kPanelK4Bytes;
      __m512i wv[R];
      #pragma GCC unroll 4
      for (std::size_t r = 0; r < R; ++r) wv[r] = _mm512_set1_epi32(wb[r]);
      __m512i t0, t1, t2, t3;
      __asm__(
          "vmovdqu64 (%[x]), %[t0]\n\t"
          "vmovdqu64 64(%[x]), %[t1]\n\t"
          "vmovdqu64 128(%[x]), %[t2]\n\t"
          "vmovdqu64 192(%[x]), %[t3]\n\t"
          "vpdpbusd %[w0], %[t0], %[a00]\n\t"
          "vpdpbusd %[w0], %[t1], %[a01]\n\t"
          "vpdpbusd %[w0], %[t2], %[a02]\n\t"
          "vpdpbusd %[w0], %[t3], %[a03]\n\t"
          "vpdpbusd %[w1], %[t0], %[a10]\n\t"
          "vpdpbusd %[w1], %[t1], %[a11]\n\t"
          "vpdpbusd %[w1], %[t2], %[a12]\n\t"
          "vpdpbusd %[w1], %[t3], %[a13]"
          : [a00] "+v"(a[0][0]), [a01] "+v"(a[0][1]), [a02] "+v"(a[0][2]), [a03] "+v"(a[0][3]),
            [a10] "+v"(a[1][0]), [a11] "+v"(a[1][1]), [a12] "+v"(a[1][2]), [a13] "+v"(a[1][3]),
            [t0] "=&v"(t0), [t1] "=&v"(t1), [t2] "=&v"(t2), [t3] "=&v"(t3)
          : [x] "r"(x), [w0] "v"(wv[0]), [w1] "v"(wv[1]), "m"(*reinterpret_cast<const char(*)[256]>(x)));
      if constexpr (R == 4) {
        __asm__(
            "vpdpbusd %[w2], %[t0], %[a20]\n\t"
            "vpdpbusd %[w2], %[t1], %[a21]\n\t"
            "vpdpbusd %[w2], %[t2], %[a22]\n\t"
            "vpdpbusd %[w2], %[t3], %[a23]\n\t"
            "vpdpbusd %[w3], %[t0], %[a30]\n\t"
            "vpdpbusd %[w3], %[t1], %[a31]\n\t"
            "vpdpbusd %[w3], %[t2], %[a32]\n\t"
            "vpdpbusd %[w3], %[t3], %[a33]"
            : [a20] "+v"(a[2][0]), [a21] "+v"(a[2][1]), [a22] "+v"(a[2][2]), [a23] "+v"(a[2][3]),
              [a30] "+v"(a[3][0]), [a31] "+v"(a[3][1]), [a32] "+v"(a[3][2]), [a33] "+v"(a[3][3])
            : [t0] "v"(t0), [t1] "v"(t1), [t2] "v"(t2), [t3] "v"(t3), [w2] "v"(wv[2]), [w3] "v"(wv[3]));
      }
    }
    std::int32_t* const out = acc + (tile_row * R - n_begin) * kMr;
    #pragma GCC unroll 4
    for (std::size_t r = 0; r < R && r < rows; ++r)
      #pragma GCC unroll 16
      for (int g = 0; g < 4; ++g) _mm512_storeu_si512(out + r * kMr + 16 * g, a[r][g]);
  }
}

}  // namespace
}  // namespace sparrow::kernels

#include "engine/kernels/spmm-rx4/spmm-rx4-entry.h"
