// Linear layers over weights as the .sparrow file lays them out: sparse block INT8, dense INT8 and FP32, each
// with the fused epilogue, dispatched at run time to the best micro-kernel this CPU may use (isa.h) and split
// over a thread pool. Packing weights is the format's job (format/weights.h); the kernels only read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "engine/kernels/isa.h"
#include "engine/kernels/quant.h"
#include "engine/kernels/thread_pool.h"
#include "engine/kernels/ukernels.h"

namespace sparrow::kernels {

// Sum of each output channel's INT8 weights, for the epilogue's zero-point correction: what an engine
// computes once when it loads a sparse layer (the .sparrow file does not store it).
std::vector<std::int32_t> b4_row_sums(const B4WeightsView& w);

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
// 1x4-block kernels for one token (mr = 1): decoding at batch 1 reads each weight once and computes no
// padding tokens. They run in the same driver, on single-row "panels".
const std::vector<SpmmB4Kernel>& spmv_b4_kernels();
const std::vector<QGemmKernel>& qgemm_kernels();
// Dense kernels for one token (mr = 1), as spmv_b4_kernels() for sparse ones.
const std::vector<QGemmKernel>& qgemv_kernels();
const std::vector<F32GemmKernel>& f32_gemm_kernels();
// FP32 kernels for one row (mr = 1).
const std::vector<F32GemmKernel>& f32_gemv_kernels();
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
const SpmmB4Kernel& spmv_b4_kernel();
// The kernel a sparse layer with `rows` channels per tile runs over m tokens: the one-token kernel for one
// token of a 1x4-block layer (when it has SIMD, or nothing has), else spmm_kernel(rows). Its mr is the
// layer's panel height.
const SpmmB4Kernel& sparse_kernel(std::size_t rows, std::size_t m);
const QGemmKernel& qgemm_kernel();
// The kernel a dense INT8 layer runs over m tokens: the one-token kernel for one token (when it has SIMD, or
// nothing has), else qgemm_kernel(). Its mr is the layer's panel height.
const QGemmKernel& dense_kernel(std::size_t m);
const F32GemmKernel& f32_gemm_kernel();
// The FP32 kernel for m rows: the one-row kernel for one row (when it has SIMD, or nothing has), else
// f32_gemm_kernel().
const F32GemmKernel& f32_kernel(std::size_t m);
const QEpilogueKernel& qepilogue_kernel();
const QuantizePackKernel& quantize_pack_kernel();

// Where dispatch decisions go (default: one line each on stderr). Pass null to silence.
using KernelLogFn = void (*)(const char* message);
void set_kernel_log(KernelLogFn fn);

// The INT8 GEMM driver, the one the engine runs and the kernel tests and bench_kernels exercise:
// Y = epilogue(X . W^T) for M tokens over weights laid out as a .sparrow file stores them (views made by
// engine/kernel_weights.cpp). x_panels holds X packed with the kernel's MR (qu8_pack_panels_f32); p.row_sum
// must be set. The sparse kernel's nr must equal w.rows (spmm_kernel(w.rows)). Y is row-major [M][ldy].
void qu8_f32_qc8w_spmm_b4(const std::uint8_t* x_panels, std::size_t m, const B4WeightsView& w,
                          const QEpilogueParams& p, float* y, std::size_t ldy, ThreadPool* pool,
                          const SpmmB4Kernel& kernel);
void qu8_qu8_qc8w_spmm_b4(const std::uint8_t* x_panels, std::size_t m, const B4WeightsView& w,
                          const QEpilogueParams& p, std::uint8_t* y, std::size_t ldy, ThreadPool* pool,
                          const SpmmB4Kernel& kernel);
void qu8_f32_qc8w_gemm(const std::uint8_t* x_panels, std::size_t m, const DenseQc8wView& w, const QEpilogueParams& p,
                       float* y, std::size_t ldy, ThreadPool* pool, const QGemmKernel& kernel = qgemm_kernel());
void qu8_qu8_qc8w_gemm(const std::uint8_t* x_panels, std::size_t m, const DenseQc8wView& w, const QEpilogueParams& p,
                       std::uint8_t* y, std::size_t ldy, ThreadPool* pool, const QGemmKernel& kernel = qgemm_kernel());
// Requantized output written directly as the next layer's activation panels (same panel width as x_panels,
// that layer's K = w.n), so it needs no packing pass: y_panels holds panels_bytes(m, w.n, kernel.mr) bytes.
// Padding bytes (tokens >= m, channels >= N) are not written: the next layer's zero weight padding or its
// discarded rows make their value irrelevant.
void qu8_qu8_qc8w_spmm_b4_panels(const std::uint8_t* x_panels, std::size_t m, const B4WeightsView& w,
                                 const QEpilogueParams& p, std::uint8_t* y_panels, ThreadPool* pool,
                                 const SpmmB4Kernel& kernel);
void qu8_qu8_qc8w_gemm_panels(const std::uint8_t* x_panels, std::size_t m, const DenseQc8wView& w,
                              const QEpilogueParams& p, std::uint8_t* y_panels, ThreadPool* pool,
                              const QGemmKernel& kernel = qgemm_kernel());
// Y = act(X . W^T + bias) in FP32; X row-major [M][ldx], w_panels the file's fp32 layout (kF32PanelNr channels
// per panel, [ceil(N/16)][K][16]), bias nullable.
void f32_gemm(const float* x, std::size_t m, std::size_t ldx, const float* w_panels, std::size_t n, std::size_t k,
              const float* bias, Activation act, float* y, std::size_t ldy, ThreadPool* pool = nullptr,
              const F32GemmKernel& kernel = f32_gemm_kernel());

}  // namespace sparrow::kernels
