// Dense INT8 GEMM with vpdpbusd: per k4 step 4 panel loads (64 tokens) and 4 weight broadcasts feed 16
// independent vpdpbusd, under the 2-loads-per-clock budget.
#include <immintrin.h>

#include <cassert>

#include "engine/kernels/ukernels.h"

namespace sparrow::kernels {

void qu8_qs32_qc8w_gemm_ukernel_64x4c4__avx512vnni(std::size_t mr, const std::uint8_t* x_panel,
                                                    const DenseQc8wView& w, std::size_t n_begin, std::size_t n_end,
                                                    std::int32_t* acc) {
  assert(mr == 64);
  assert(n_begin % kDenseQc8wNr == 0 && n_begin <= n_end && n_end <= w.n);
  constexpr std::size_t kPanelK4Bytes = 64 * 4;
  for (std::size_t ng = n_begin; ng < n_end; ng += 4) {
    const std::int32_t* wg = w.w + (ng / 4) * w.k4 * 4;
    __m512i c00 = _mm512_setzero_si512(), c01 = c00, c02 = c00, c03 = c00, c10 = c00, c11 = c00, c12 = c00,
            c13 = c00, c20 = c00, c21 = c00, c22 = c00, c23 = c00, c30 = c00, c31 = c00, c32 = c00, c33 = c00;
    for (std::size_t k4 = 0; k4 < w.k4; ++k4) {
      const std::uint8_t* xk = x_panel + k4 * kPanelK4Bytes;
      const std::int32_t* wk = wg + k4 * 4;
      __m512i x0, x1, x2, x3, wv;
      // Asm statements, not intrinsics: GCC 12 copies accumulators around _mm512_dpbusd_epi32 (and around
      // one-instruction asm wrappers) in this loop, which halves throughput. Two statements because asm
      // takes at most 30 operands. c<token group><channel>.
      __asm__(
          "vmovdqu64 (%[x]), %[x0]\n\t"
          "vmovdqu64 64(%[x]), %[x1]\n\t"
          "vmovdqu64 128(%[x]), %[x2]\n\t"
          "vmovdqu64 192(%[x]), %[x3]\n\t"
          "vpbroadcastd (%[w]), %[wv]\n\t"
          "vpdpbusd %[wv], %[x0], %[c00]\n\t"
          "vpdpbusd %[wv], %[x1], %[c10]\n\t"
          "vpdpbusd %[wv], %[x2], %[c20]\n\t"
          "vpdpbusd %[wv], %[x3], %[c30]\n\t"
          "vpbroadcastd 4(%[w]), %[wv]\n\t"
          "vpdpbusd %[wv], %[x0], %[c01]\n\t"
          "vpdpbusd %[wv], %[x1], %[c11]\n\t"
          "vpdpbusd %[wv], %[x2], %[c21]\n\t"
          "vpdpbusd %[wv], %[x3], %[c31]"
          : [c00] "+v"(c00), [c01] "+v"(c01), [c10] "+v"(c10), [c11] "+v"(c11), [c20] "+v"(c20), [c21] "+v"(c21),
            [c30] "+v"(c30), [c31] "+v"(c31), [x0] "=&v"(x0), [x1] "=&v"(x1), [x2] "=&v"(x2), [x3] "=&v"(x3),
            [wv] "=&v"(wv)
          : [x] "r"(xk), [w] "r"(wk), "m"(*reinterpret_cast<const char(*)[kPanelK4Bytes]>(xk)),
            "m"(*reinterpret_cast<const std::int32_t(*)[4]>(wk)));
      __asm__(
          "vpbroadcastd 8(%[w]), %[wv]\n\t"
          "vpdpbusd %[wv], %[x0], %[c02]\n\t"
          "vpdpbusd %[wv], %[x1], %[c12]\n\t"
          "vpdpbusd %[wv], %[x2], %[c22]\n\t"
          "vpdpbusd %[wv], %[x3], %[c32]\n\t"
          "vpbroadcastd 12(%[w]), %[wv]\n\t"
          "vpdpbusd %[wv], %[x0], %[c03]\n\t"
          "vpdpbusd %[wv], %[x1], %[c13]\n\t"
          "vpdpbusd %[wv], %[x2], %[c23]\n\t"
          "vpdpbusd %[wv], %[x3], %[c33]"
          : [c02] "+v"(c02), [c03] "+v"(c03), [c12] "+v"(c12), [c13] "+v"(c13), [c22] "+v"(c22), [c23] "+v"(c23),
            [c32] "+v"(c32), [c33] "+v"(c33), [wv] "=&v"(wv)
          : [x0] "v"(x0), [x1] "v"(x1), [x2] "v"(x2), [x3] "v"(x3), [w] "r"(wk),
            "m"(*reinterpret_cast<const std::int32_t(*)[4]>(wk)));
    }
    const __m512i rows[4][4] = {{c00, c10, c20, c30}, {c01, c11, c21, c31}, {c02, c12, c22, c32}, {c03, c13, c23, c33}};
    for (std::size_t c = 0; c < 4 && ng + c < n_end; ++c) {
      for (int g = 0; g < 4; ++g) _mm512_storeu_si512(acc + (ng + c - n_begin) * 64 + g * 16, rows[c][g]);
    }
  }
}

}  // namespace sparrow::kernels
