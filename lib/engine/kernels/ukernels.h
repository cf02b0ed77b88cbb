// Micro-kernel declarations, generated from the .inc tables. Only plain data crosses this boundary:
// the ISA-flagged translation units include nothing but this header and <immintrin.h>, so no inline
// library code gets compiled with AVX-512 flags (an ODR-merged copy could then run on a CPU without it).
// (The spmm-rx4 files also include their ISA's template header, whose code has internal linkage.)
#pragma once

#include <cstddef>
#include <cstdint>

#include "engine/kernels/quant.h"

namespace sparrow::kernels {

// Sparse 1x4-block weights, structure of arrays: for output channel n, blocks row_ptr[n] .. row_ptr[n+1]-1,
// ascending in column block. Block b covers inputs 4*k4 .. 4*k4+3 with k4 = block_k4[b], read as u8 when
// index == B4Index::u8 (K4 <= 256) else as u16, and holds their 4 INT8 weights in block_w[b] (little-endian
// int32, input 4*k4 in the low byte). A 1- or 2-byte index instead of an 8-byte record keeps the file small.
// With rows R > 1 (R x 4 tiles: R consecutive output channels share one block pattern) row_ptr runs over
// tile rows (channels R*t .. R*t+R-1) and tile b holds R words, block_w[b*R + r] for channel R*t + r; the
// words of channels past n (a ragged last tile row) are 0. One activation load then feeds R channels.
enum class B4Index : std::uint8_t { u8, u16 };
struct B4WeightsView {
  std::size_t n = 0;
  std::size_t k4 = 0;
  const std::uint32_t* row_ptr = nullptr;
  B4Index index = B4Index::u8;
  const void* block_k4 = nullptr;  // [blocks] u8 or u16
  const std::int32_t* block_w = nullptr;  // [blocks * rows]
  std::size_t rows = 1;                   // R: 1, 2 or 4
};

// Dense INT8 weights in groups of 4 output channels: w[(n/4)*k4*4 + k4i*4 + n%4] holds the 4 INT8 weights
// of channel n for inputs 4*k4i .. 4*k4i+3 (little-endian int32). Channels past N are zero.
struct DenseQc8wView {
  std::size_t n = 0;
  std::size_t k4 = 0;
  const std::int32_t* w = nullptr;
};
inline constexpr std::size_t kDenseQc8wNr = 4;

// FP32 weights in panels of 16 output channels: panel p is [K][16] at w + p*k*16; channels past N are zero.
inline constexpr std::size_t kF32PanelNr = 16;

// INT32 accumulators of one activation panel (mr tokens, layout in quant.h) against output channels
// [n_begin, n_end): acc[(n - n_begin) * mr + t] = sum_k x[t][k] * w[n][k] (no zero-point correction).
// Sparse kernels take weights with w.rows equal to their NR; n_begin is a multiple of it.
using QGemmSpmmB4Fn = void (*)(std::size_t mr, const std::uint8_t* x_panel, const B4WeightsView& w,
                               std::size_t n_begin, std::size_t n_end, std::int32_t* acc);
// Same contract for dense weights; n_begin is a multiple of kDenseQc8wNr.
using QGemmDenseFn = void (*)(std::size_t mr, const std::uint8_t* x_panel, const DenseQc8wView& w,
                              std::size_t n_begin, std::size_t n_end, std::int32_t* acc);
// Fused epilogue of a [nc][mr] accumulator tile for channels n_begin.. into row-major y[t*ldy + n]
// for the first m tokens (see QEpilogueParams).
using QEpilogueF32Fn = void (*)(std::size_t m, std::size_t mr, std::size_t n_begin, std::size_t nc,
                                const std::int32_t* acc, const QEpilogueParams& p, float* y, std::size_t ldy);
using QEpilogueQu8Fn = void (*)(std::size_t m, std::size_t mr, std::size_t n_begin, std::size_t nc,
                                const std::int32_t* acc, const QEpilogueParams& p, std::uint8_t* y,
                                std::size_t ldy);
// Requantized UINT8 output written straight into the next layer's activation panels (quant.h layout, panel
// width mr, that layer's K = this layer's N): y_panel is the panel of this tile's tokens; n_begin is a
// multiple of 4. Only tokens < m and channels < N are written.
using QEpiloguePanelFn = void (*)(std::size_t m, std::size_t mr, std::size_t n_begin, std::size_t nc,
                                  const std::int32_t* acc, const QEpilogueParams& p, std::uint8_t* y_panel);
// Quantizes one token row x[0..k) (quant.h scheme) into its slot of an activation panel: panel_row points at
// the token's first 4 bytes (panel + (t % mr) * 4), successive groups of 4 inputs are mr * 4 bytes apart, and
// inputs past k up to a multiple of 4 are written as 0.
using QuantizePackRowFn = void (*)(const float* x, std::size_t k, quant::ActivationParams q, std::size_t mr,
                                   std::uint8_t* panel_row);
// y[i][j] = act(sum_k x[i][k] * w[n0+j][k] + bias[j]) for i < m (<= the kernel's MR), j < nc (<= its NR);
// w points at the first 16-channel panel of the tile, bias (nullable) at bias[n0].
using F32GemmFn = void (*)(std::size_t m, std::size_t nc, std::size_t k, const float* x, std::size_t ldx,
                           const float* w, const float* bias, Activation act, float* y, std::size_t ldy);

#define SPR_UKERNEL(isa, fn, mr, nr)                                                                     \
  void fn(std::size_t mr_, const std::uint8_t* x_panel, const B4WeightsView& w, std::size_t n_begin, \
          std::size_t n_end, std::int32_t* acc);
#include "engine/kernels/spmm-b4/spmm-b4.inc"
#include "engine/kernels/spmm-rx4/spmm-rx4.inc"
#include "engine/kernels/spmv-b4/spmv-b4.inc"
#undef SPR_UKERNEL

#define SPR_UKERNEL(isa, fn, mr, nr)                                                                      \
  void fn(std::size_t mr_, const std::uint8_t* x_panel, const DenseQc8wView& w, std::size_t n_begin, \
          std::size_t n_end, std::int32_t* acc);
#include "engine/kernels/qgemm/qgemm.inc"
#include "engine/kernels/qgemv/qgemv.inc"
#undef SPR_UKERNEL

#define SPR_EPILOGUE(isa, f32_fn, qu8_fn, qu8_panel_fn)                                                  \
  void f32_fn(std::size_t m, std::size_t mr, std::size_t n_begin, std::size_t nc, const std::int32_t* acc, \
              const QEpilogueParams& p, float* y, std::size_t ldy);                                       \
  void qu8_fn(std::size_t m, std::size_t mr, std::size_t n_begin, std::size_t nc, const std::int32_t* acc, \
              const QEpilogueParams& p, std::uint8_t* y, std::size_t ldy);                                \
  void qu8_panel_fn(std::size_t m, std::size_t mr, std::size_t n_begin, std::size_t nc,                    \
                    const std::int32_t* acc, const QEpilogueParams& p, std::uint8_t* y_panel);
#include "engine/kernels/epilogue/epilogue.inc"
#undef SPR_EPILOGUE

#define SPR_PACK(isa, fn) \
  void fn(const float* x, std::size_t k, quant::ActivationParams q, std::size_t mr, std::uint8_t* panel_row);
#include "engine/kernels/pack/f32-qu8-pack.inc"
#undef SPR_PACK

#define SPR_UKERNEL(isa, fn, mr, nr)                                                                      \
  void fn(std::size_t m, std::size_t nc, std::size_t k, const float* x, std::size_t ldx, const float* w, \
          const float* bias, Activation act, float* y, std::size_t ldy);
#include "engine/kernels/f32-gemm/f32-gemm.inc"
#include "engine/kernels/f32-gemv/f32-gemv.inc"
#undef SPR_UKERNEL

}  // namespace sparrow::kernels
