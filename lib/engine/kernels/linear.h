// Linear layers over packed weights: sparse block4 INT8, dense INT8 and FP32, each with the fused epilogue,
// dispatched at run time to the best micro-kernel this CPU may use (isa.h) and split over a thread pool.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "engine/kernels/isa.h"
#include "engine/kernels/quant.h"
#include "engine/kernels/thread_pool.h"
#include "engine/kernels/ukernels.h"

namespace sparrow::kernels {

// Sparse INT8 weights W[N][K] in 1x4 blocks (layout: B4WeightsView). A block is kept when any of its 4
// weights is nonzero; K is padded to a multiple of 4 with zeros. Column indices are u8 when K4 <= 256, else
// u16 (K4 <= 65536). row_sum is not part of the layout (the .sparrow file does not store it): b4_row_sums()
// derives it from the blocks. With rows R > 1 the blocks are R x 4 tiles (B4WeightsView): a tile is kept
// when any of its R x 4 weights is nonzero.
struct PackedB4 {
  std::size_t n = 0;
  std::size_t k = 0;
  std::size_t rows = 1;                // R: 1, 2 or 4
  std::vector<std::uint32_t> row_ptr;  // ceil(N / R) + 1
  B4Index index = B4Index::u8;
  std::vector<std::uint8_t> block_k4_u8;    // one of these two holds the indices, per `index`
  std::vector<std::uint16_t> block_k4_u16;
  std::vector<std::int32_t> block_w;  // R words per block
  std::vector<std::int32_t> row_sum;   // N
  std::size_t blocks() const { return block_w.size() / rows; }
  B4WeightsView view() const;
};
// The index width pack_b4 uses for K4 column blocks; throws std::length_error when K4 > 65536.
B4Index b4_index_for(std::size_t k4);
// Throws std::invalid_argument for rows other than 1, 2 and 4.
PackedB4 pack_b4(const std::int8_t* w, std::size_t n, std::size_t k, std::size_t ldw, std::size_t rows = 1);
// Back to dense [N][K] (for checks and tools).
std::vector<std::int8_t> unpack_b4(const PackedB4& w);
// Sum of each output channel's weights, for the epilogue's zero-point correction: what an engine computes
// once when it loads a sparse layer from a file.
std::vector<std::int32_t> b4_row_sums(const B4WeightsView& w);

struct PackedQc8w {
  std::size_t n = 0;
  std::size_t k = 0;
  std::vector<std::int32_t> w;        // layout: DenseQc8wView
  std::vector<std::int32_t> row_sum;  // N
  DenseQc8wView view() const { return {n, round_up_4(k) / 4, w.data()}; }
};
PackedQc8w pack_qc8w(const std::int8_t* w, std::size_t n, std::size_t k, std::size_t ldw);

struct PackedF32 {
  std::size_t n = 0;
  std::size_t k = 0;
  std::vector<float> w;  // ceil(N/16) panels of [K][16]
};
PackedF32 pack_f32(const float* w, std::size_t n, std::size_t k, std::size_t ldw);

// One row of a micro-kernel table (.inc), best first.
template <class Fn>
struct UKernel {
  const char* name;
  Isa isa;
  std::size_t mr;  // tokens per activation panel (INT8) or rows per call (FP32)
  std::size_t nr;
  Fn fn;
};
using SpmmB4Kernel = UKernel<QGemmSpmmB4Fn>;
using QGemmKernel = UKernel<QGemmDenseFn>;
using F32GemmKernel = UKernel<F32GemmFn>;
struct QEpilogueKernel {
  const char* name;
  Isa isa;
  QEpilogueF32Fn f32;
  QEpilogueQu8Fn qu8;
  QEpiloguePanelFn qu8_panel;
};

const std::vector<SpmmB4Kernel>& spmm_b4_kernels();
// The R x 4 tile kernels, nr = R (2 or 4); per ISA the same MR as spmm-b4, so one activation panel layout
// serves every sparse layer.
const std::vector<SpmmB4Kernel>& spmm_rx4_kernels();
const std::vector<QGemmKernel>& qgemm_kernels();
const std::vector<F32GemmKernel>& f32_gemm_kernels();
const std::vector<QEpilogueKernel>& qepilogue_kernels();
struct QuantizePackKernel {
  const char* name;
  Isa isa;
  QuantizePackRowFn fn;
};
const std::vector<QuantizePackKernel>& quantize_pack_kernels();

// The kernel chosen for this CPU (first of its table that mayiuse() allows); the choice is logged once.
const SpmmB4Kernel& spmm_b4_kernel();
// The kernel for sparse weights with `rows` channels per tile: spmm_b4_kernel() for 1, the chosen R x 4
// kernel for 2 and 4; throws std::invalid_argument otherwise.
const SpmmB4Kernel& spmm_kernel(std::size_t rows);
const QGemmKernel& qgemm_kernel();
const F32GemmKernel& f32_gemm_kernel();
const QEpilogueKernel& qepilogue_kernel();
const QuantizePackKernel& quantize_pack_kernel();

// Where dispatch decisions go (default: one line each on stderr). Pass null to silence.
using KernelLogFn = void (*)(const char* message);
void set_kernel_log(KernelLogFn fn);

// Y = epilogue(X . W^T) for M tokens. x_panels holds X packed with the kernel's MR (qu8_pack_panels_*);
// p.row_sum is taken from w. Y is row-major [M][ldy]. The sparse kernel's nr must equal w.rows
// (spmm_kernel(w.rows)).
void qu8_f32_qc8w_spmm_b4(const std::uint8_t* x_panels, std::size_t m, const PackedB4& w, QEpilogueParams p,
                          float* y, std::size_t ldy, ThreadPool* pool = nullptr,
                          const SpmmB4Kernel& kernel = spmm_b4_kernel());
void qu8_qu8_qc8w_spmm_b4(const std::uint8_t* x_panels, std::size_t m, const PackedB4& w, QEpilogueParams p,
                          std::uint8_t* y, std::size_t ldy, ThreadPool* pool = nullptr,
                          const SpmmB4Kernel& kernel = spmm_b4_kernel());
void qu8_f32_qc8w_gemm(const std::uint8_t* x_panels, std::size_t m, const PackedQc8w& w, QEpilogueParams p,
                       float* y, std::size_t ldy, ThreadPool* pool = nullptr,
                       const QGemmKernel& kernel = qgemm_kernel());
void qu8_qu8_qc8w_gemm(const std::uint8_t* x_panels, std::size_t m, const PackedQc8w& w, QEpilogueParams p,
                       std::uint8_t* y, std::size_t ldy, ThreadPool* pool = nullptr,
                       const QGemmKernel& kernel = qgemm_kernel());
// Requantized output written directly as the next layer's activation panels (same panel width as x_panels,
// that layer's K = w.n), so it needs no packing pass: y_panels holds panels_bytes(m, w.n, kernel.mr) bytes.
// Padding bytes (tokens >= m, channels >= N) are not written: the next layer's zero weight padding or its
// discarded rows make their value irrelevant.
void qu8_qu8_qc8w_spmm_b4_panels(const std::uint8_t* x_panels, std::size_t m, const PackedB4& w, QEpilogueParams p,
                                 std::uint8_t* y_panels, ThreadPool* pool = nullptr,
                                 const SpmmB4Kernel& kernel = spmm_b4_kernel());
void qu8_qu8_qc8w_gemm_panels(const std::uint8_t* x_panels, std::size_t m, const PackedQc8w& w, QEpilogueParams p,
                              std::uint8_t* y_panels, ThreadPool* pool = nullptr,
                              const QGemmKernel& kernel = qgemm_kernel());
// Y = act(X . W^T + bias) in FP32; X row-major [M][ldx], bias nullable.
void f32_gemm(const float* x, std::size_t m, std::size_t ldx, const PackedF32& w, const float* bias,
              Activation act, float* y, std::size_t ldy, ThreadPool* pool = nullptr,
              const F32GemmKernel& kernel = f32_gemm_kernel());

}  // namespace sparrow::kernels
