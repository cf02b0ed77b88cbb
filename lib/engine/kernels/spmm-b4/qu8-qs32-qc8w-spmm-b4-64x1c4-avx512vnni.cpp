// The hot kernel. Per 1x4 block: its 1- or 2-byte column index into a general register, its 4 weights (one
// int32) broadcast from memory, 4 panel loads of 16 tokens x 4 inputs and 4 vpdpbusd.
// Even and odd blocks go to separate accumulator sets so 8 independent vpdpbusd chains hide its 4-cycle
// latency.
#include <immintrin.h>

#include <cassert>

#include "engine/kernels/ukernels.h"

namespace sparrow::kernels {
namespace {

// For the odd last block. GCC 12 copies accumulators around _mm512_dpbusd_epi32 in loops (and, in the
// main loop, even around a single tied-operand asm), so the hot loop body is one asm statement.
__attribute__((always_inline)) inline void dpbusd(__m512i& acc, __m512i x, __m512i w) {
  __asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(x), "v"(w));
}

template <class Index>
void spmm_rows(const std::uint8_t* x_panel, const B4WeightsView& w, std::size_t n_begin, std::size_t n_end,
               std::int32_t* acc) {
  const Index* const block_k4 = static_cast<const Index*>(w.block_k4);
  constexpr std::size_t kPanelK4Bytes = 64 * 4;
  const auto load = [](const std::uint8_t* p, int i) {
    return _mm512_loadu_si512(reinterpret_cast<const void*>(p + 64 * i));
  };
  for (std::size_t n = n_begin; n < n_end; ++n) {
    __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
    __m512i b0 = a0, b1 = a0, b2 = a0, b3 = a0;
    const Index* k4 = block_k4 + w.row_ptr[n];
    const Index* const end = block_k4 + w.row_ptr[n + 1];
    const std::int32_t* wb = w.block_w + w.row_ptr[n];
    for (; end - k4 >= 2; k4 += 2, wb += 2) {
      const std::uint8_t* x0 = x_panel + std::size_t{k4[0]} * kPanelK4Bytes;
      const std::uint8_t* x1 = x_panel + std::size_t{k4[1]} * kPanelK4Bytes;
      const __m512i w0 = _mm512_set1_epi32(wb[0]);
      const __m512i w1 = _mm512_set1_epi32(wb[1]);
      __m512i t0, t1, t2, t3;
      // One asm body for two blocks: GCC 12 otherwise routes half the accumulators through a scratch register.
      __asm__(
          "vmovdqu64 (%[x0]), %[t0]\n\t"
          "vmovdqu64 64(%[x0]), %[t1]\n\t"
          "vmovdqu64 128(%[x0]), %[t2]\n\t"
          "vmovdqu64 192(%[x0]), %[t3]\n\t"
          "vpdpbusd %[w0], %[t0], %[a0]\n\t"
          "vpdpbusd %[w0], %[t1], %[a1]\n\t"
          "vpdpbusd %[w0], %[t2], %[a2]\n\t"
          "vpdpbusd %[w0], %[t3], %[a3]\n\t"
          "vmovdqu64 (%[x1]), %[t0]\n\t"
          "vmovdqu64 64(%[x1]), %[t1]\n\t"
          "vmovdqu64 128(%[x1]), %[t2]\n\t"
          "vmovdqu64 192(%[x1]), %[t3]\n\t"
          "vpdpbusd %[w1], %[t0], %[b0]\n\t"
          "vpdpbusd %[w1], %[t1], %[b1]\n\t"
          "vpdpbusd %[w1], %[t2], %[b2]\n\t"
          "vpdpbusd %[w1], %[t3], %[b3]"
          : [a0] "+v"(a0), [a1] "+v"(a1), [a2] "+v"(a2), [a3] "+v"(a3), [b0] "+v"(b0), [b1] "+v"(b1),
            [b2] "+v"(b2), [b3] "+v"(b3), [t0] "=&v"(t0), [t1] "=&v"(t1), [t2] "=&v"(t2), [t3] "=&v"(t3)
          : [x0] "r"(x0), [x1] "r"(x1), [w0] "v"(w0), [w1] "v"(w1), "m"(*reinterpret_cast<const char(*)[256]>(x0)),
            "m"(*reinterpret_cast<const char(*)[256]>(x1)));
    }
    if (k4 != end) {
      const std::uint8_t* x0 = x_panel + std::size_t{*k4} * kPanelK4Bytes;
      const __m512i w0 = _mm512_set1_epi32(*wb);
      dpbusd(a0, load(x0, 0), w0);
      dpbusd(a1, load(x0, 1), w0);
      dpbusd(a2, load(x0, 2), w0);
      dpbusd(a3, load(x0, 3), w0);
    }
    std::int32_t* out = acc + (n - n_begin) * 64;
    _mm512_storeu_si512(out, _mm512_add_epi32(a0, b0));
    _mm512_storeu_si512(out + 16, _mm512_add_epi32(a1, b1));
    _mm512_storeu_si512(out + 32, _mm512_add_epi32(a2, b2));
    _mm512_storeu_si512(out + 48, _mm512_add_epi32(a3, b3));
  }
}

}  // namespace

void qu8_qs32_qc8w_spmm_b4_ukernel_64x1c4__avx512vnni(std::size_t mr, const std::uint8_t* x_panel,
                                                       const B4WeightsView& w, std::size_t n_begin, std::size_t n_end,
                                                       std::int32_t* acc) {
  assert(mr == 64);
  assert(n_begin <= n_end && n_end <= w.n);
  if (w.index == B4Index::u8) {
    spmm_rows<std::uint8_t>(x_panel, w, n_begin, n_end, acc);
  } else {
    spmm_rows<std::uint16_t>(x_panel, w, n_begin, n_end, acc);
  }
}

}  // namespace sparrow::kernels
