#include "engine/kernels/linear.h"

#include <algorithm>
#include <cassert>
#include <cstdio>
#include <stdexcept>
#include <string>

#include "engine/kernels/select_kernel.h"

namespace sparrow::kernels {
namespace {

void stderr_log(const char* message) { std::fprintf(stderr, "sparrow: %s\n", message); }
KernelLogFn g_log = stderr_log;

// Channels per micro-kernel call: the INT32 tile [16][MR] stays in L1 between kernel and epilogue.
constexpr std::size_t kChannelTile = 16;
// Channels per work item handed to a thread.
constexpr std::size_t kChannelChunk = 64;
constexpr std::size_t kMaxPanelMr = 64;
static_assert(kChannelTile % 4 == 0 && kChannelChunk % 4 == 0, "a call must start on a tile of R = 1, 2 or 4 channels");

// Activation panels that share one pass over the weights: at most about an L2 (512 KiB to 1 MiB here).
constexpr std::size_t kPanelGroupBytes = 512 * 1024;
// ... and at most this many: the output rows of a group are written chunk by chunk, and rows far apart
// (each on its own page) cost TLB misses.
constexpr std::size_t kMaxPanelGroup = 4;

// Work items are (token panel, channel chunk). Panels are taken in groups that fit in L2; inside a group
// the order is chunk-major, so a chunk of weights is read from memory once and reused from L1 for every
// panel of the group. Threads get contiguous item ranges, i.e. disjoint channel chunks of a group.
// `store(rows, panel, n0, nc, acc)` runs the epilogue of one INT32 tile.
template <class Ukernel, class View, class Store>
void run_qlinear(const std::uint8_t* x_panels, std::size_t m, std::size_t n, std::size_t k, std::size_t mr,
                 Ukernel ukernel, const View& view, Store store, ThreadPool* pool) {
  assert(mr != 0 && mr <= kMaxPanelMr);
  const std::size_t panels = panel_count(m, mr), chunks = (n + kChannelChunk - 1) / kChannelChunk;
  const std::size_t stride = panel_stride(k, mr);
  const std::size_t group = std::max<std::size_t>(1, std::min({panels, kPanelGroupBytes / stride, kMaxPanelGroup}));
  const std::size_t full_groups = panels / group, last_group = panels - full_groups * group;
  parallel_for(pool, panels * chunks, [&](std::size_t begin, std::size_t end) {
    alignas(64) std::int32_t acc[kChannelTile * kMaxPanelMr];
    for (std::size_t item = begin; item < end; ++item) {
      std::size_t g = item / (chunks * group), size = group, within = item % (chunks * group);
      if (g >= full_groups) {
        g = full_groups;
        size = last_group;
        within = item - full_groups * chunks * group;
      }
      const std::size_t panel = g * group + within % size, chunk = within / size;
      const std::size_t rows = std::min(mr, m - panel * mr);
      const std::size_t n_end = std::min(n, (chunk + 1) * kChannelChunk);
      for (std::size_t n0 = chunk * kChannelChunk; n0 < n_end; n0 += kChannelTile) {
        const std::size_t n1 = std::min(n_end, n0 + kChannelTile);
        ukernel(mr, x_panels + panel * stride, view, n0, n1, acc);
        store(rows, panel, n0, n1 - n0, acc);
      }
    }
  });
}

// Epilogue writing row-major output y[t][n].
template <class Out, class Fn>
auto row_major_store(Fn epilogue, std::size_t mr, const QEpilogueParams& p, Out* y, std::size_t ldy) {
  return [=, &p](std::size_t rows, std::size_t panel, std::size_t n0, std::size_t nc, const std::int32_t* acc) {
    if (p.residual == nullptr) {
      epilogue(rows, mr, n0, nc, acc, p, y + panel * mr * ldy, ldy);
      return;
    }
    QEpilogueParams at_panel = p;  // the residual's rows of this panel, as y's
    at_panel.residual += panel * mr * ldy;
    epilogue(rows, mr, n0, nc, acc, at_panel, y + panel * mr * ldy, ldy);
  };
}

// Epilogue writing the next layer's activation panels.
inline auto panel_store(QEpiloguePanelFn epilogue, std::size_t mr, std::size_t n, const QEpilogueParams& p,
                        std::uint8_t* y_panels) {
  return [=, &p](std::size_t rows, std::size_t panel, std::size_t n0, std::size_t nc, const std::int32_t* acc) {
    epilogue(rows, mr, n0, nc, acc, p, y_panels + panel * panel_stride(n, mr));
  };
}

}  // namespace

void set_kernel_log(KernelLogFn fn) { g_log = fn; }

void log_kernel_choice(const std::string& message) {
  if (g_log != nullptr) g_log(message.c_str());
}

#define SPR_UKERNEL(isa, fn, mr, nr) {#fn, isa, mr, nr, fn},
const std::vector<SpmmB4Kernel>& spmm_b4_kernels() {
  static const std::vector<SpmmB4Kernel> table = {
#include "engine/kernels/spmm-b4/spmm-b4.inc"
  };
  return table;
}
const std::vector<SpmmB4Kernel>& spmv_b4_kernels() {
  static const std::vector<SpmmB4Kernel> table = {
#include "engine/kernels/spmv-b4/spmv-b4.inc"
  };
  return table;
}
const std::vector<QGemmKernel>& qgemm_kernels() {
  static const std::vector<QGemmKernel> table = {
#include "engine/kernels/qgemm/qgemm.inc"
  };
  return table;
}
const std::vector<QGemmKernel>& qgemv_kernels() {
  static const std::vector<QGemmKernel> table = {
#include "engine/kernels/qgemv/qgemv.inc"
  };
  return table;
}
const std::vector<SpmmB4Kernel>& spmm_rx4_kernels() {
  static const std::vector<SpmmB4Kernel> table = {
#include "engine/kernels/spmm-rx4/spmm-rx4.inc"
  };
  return table;
}
const std::vector<F32GemmKernel>& f32_gemm_kernels() {
  static const std::vector<F32GemmKernel> table = {
#include "engine/kernels/f32-gemm/f32-gemm.inc"
  };
  return table;
}
const std::vector<F32GemmKernel>& f32_gemv_kernels() {
  static const std::vector<F32GemmKernel> table = {
#include "engine/kernels/f32-gemv/f32-gemv.inc"
  };
  return table;
}
#undef SPR_UKERNEL
#define SPR_EPILOGUE(isa, f32_fn, qu8_fn, qu8_panel_fn) {#f32_fn, isa, f32_fn, qu8_fn, qu8_panel_fn},
const std::vector<QEpilogueKernel>& qepilogue_kernels() {
  static const std::vector<QEpilogueKernel> table = {
#include "engine/kernels/epilogue/epilogue.inc"
  };
  return table;
}
#undef SPR_EPILOGUE

#define SPR_PACK(isa, fn) {#fn, isa, fn},
const std::vector<QuantizePackKernel>& quantize_pack_kernels() {
  static const std::vector<QuantizePackKernel> table = {
#include "engine/kernels/pack/f32-qu8-pack.inc"
  };
  return table;
}
#undef SPR_PACK

const SpmmB4Kernel& spmm_b4_kernel() {
  static const SpmmB4Kernel& k = select_kernel(spmm_b4_kernels(), "spmm-b4");
  return k;
}
const SpmmB4Kernel& spmv_b4_kernel() {
  static const SpmmB4Kernel& k = select_kernel(spmv_b4_kernels(), "spmv-b4 (one token)");
  return k;
}
const SpmmB4Kernel& sparse_kernel(std::size_t rows, std::size_t m) {
  // The one-token kernel unless only its portable fallback is left while the panel kernel has SIMD (the
  // SIMD panel kernel at one token was measured faster than the scalar loop).
  const SpmmB4Kernel& one = spmv_b4_kernel();
  if (m == 1 && rows == 1 && (one.isa != Isa::scalar || spmm_b4_kernel().isa == Isa::scalar)) return one;
  return spmm_kernel(rows);
}
const SpmmB4Kernel& spmm_kernel(std::size_t rows) {
  if (rows == 1) return spmm_b4_kernel();
  if (rows != 2 && rows != 4) throw std::invalid_argument("spmm: no kernel for " + std::to_string(rows) + "x4 tiles");
  const auto for_rows = [](std::size_t r) {
    std::vector<SpmmB4Kernel> table;
    for (const SpmmB4Kernel& k : spmm_rx4_kernels())
      if (k.nr == r) table.push_back(k);
    return table;
  };
  static const std::vector<SpmmB4Kernel> r2 = for_rows(2), r4 = for_rows(4);
  static const SpmmB4Kernel& k2 = select_kernel(r2, "spmm-r2x4");
  static const SpmmB4Kernel& k4 = select_kernel(r4, "spmm-r4x4");
  return rows == 2 ? k2 : k4;
}
const QGemmKernel& qgemm_kernel() {
  static const QGemmKernel& k = select_kernel(qgemm_kernels(), "dense INT8 GEMM");
  return k;
}
const QGemmKernel& dense_kernel(std::size_t m) {
  // As sparse_kernel: the one-token kernel unless only its portable fallback is left while the panel kernel
  // has SIMD.
  static const QGemmKernel& one = select_kernel(qgemv_kernels(), "dense INT8 GEMV (one token)");
  if (m == 1 && (one.isa != Isa::scalar || qgemm_kernel().isa == Isa::scalar)) return one;
  return qgemm_kernel();
}
const F32GemmKernel& f32_gemm_kernel() {
  static const F32GemmKernel& k = select_kernel(f32_gemm_kernels(), "FP32 GEMM");
  return k;
}
const QuantizePackKernel& quantize_pack_kernel() {
  static const QuantizePackKernel& k = select_kernel(quantize_pack_kernels(), "quantize-and-pack");
  return k;
}
const F32GemmKernel& f32_kernel(std::size_t m) {
  static const F32GemmKernel& one = select_kernel(f32_gemv_kernels(), "FP32 GEMV (one row)");
  if (m == 1 && (one.isa != Isa::scalar || f32_gemm_kernel().isa == Isa::scalar)) return one;
  return f32_gemm_kernel();
}
const QEpilogueKernel& qepilogue_kernel() {
  static const QEpilogueKernel& k = select_kernel(qepilogue_kernels(), "INT8 epilogue");
  return k;
}

namespace {

// INT8 weight j of block_w[word].
std::int8_t block_weight(const B4WeightsView& w, std::size_t word, std::size_t j) {
  return static_cast<std::int8_t>(static_cast<std::uint32_t>(w.block_w[word]) >> (8 * j));
}

// Calls f(channel, block, word) for every stored block of every channel; word indexes block_w.
template <class F>
void for_each_word(const B4WeightsView& w, F f) {
  for (std::size_t row = 0; row < w.n; ++row) {
    const std::size_t tile_row = row / w.rows, r = row % w.rows;
    for (std::uint32_t b = w.row_ptr[tile_row]; b < w.row_ptr[tile_row + 1]; ++b) f(row, b, b * w.rows + r);
  }
}

}  // namespace

std::vector<std::int32_t> b4_row_sums(const B4WeightsView& w) {
  std::vector<std::int32_t> sums(w.n, 0);
  for_each_word(w, [&](std::size_t row, std::size_t, std::size_t word) {
    for (std::size_t j = 0; j < 4; ++j) sums[row] += block_weight(w, word, j);
  });
  return sums;
}

void qu8_f32_qc8w_spmm_b4(const std::uint8_t* x_panels, std::size_t m, const B4WeightsView& w,
                          const QEpilogueParams& p, float* y, std::size_t ldy, ThreadPool* pool,
                          const SpmmB4Kernel& kernel) {
  assert(kernel.nr == w.rows && p.row_sum != nullptr);
  run_qlinear(x_panels, m, w.n, w.k4 * 4, kernel.mr, kernel.fn, w,
              row_major_store(qepilogue_kernel().f32, kernel.mr, p, y, ldy), pool);
}

void qu8_qu8_qc8w_spmm_b4(const std::uint8_t* x_panels, std::size_t m, const B4WeightsView& w,
                          const QEpilogueParams& p, std::uint8_t* y, std::size_t ldy, ThreadPool* pool,
                          const SpmmB4Kernel& kernel) {
  assert(kernel.nr == w.rows && p.row_sum != nullptr);
  run_qlinear(x_panels, m, w.n, w.k4 * 4, kernel.mr, kernel.fn, w,
              row_major_store(qepilogue_kernel().qu8, kernel.mr, p, y, ldy), pool);
}

void qu8_qu8_qc8w_spmm_b4_panels(const std::uint8_t* x_panels, std::size_t m, const B4WeightsView& w,
                                 const QEpilogueParams& p, std::uint8_t* y_panels, ThreadPool* pool,
                                 const SpmmB4Kernel& kernel) {
  assert(kernel.nr == w.rows && p.row_sum != nullptr);
  run_qlinear(x_panels, m, w.n, w.k4 * 4, kernel.mr, kernel.fn, w,
              panel_store(qepilogue_kernel().qu8_panel, kernel.mr, w.n, p, y_panels), pool);
}

void qu8_f32_qc8w_gemm(const std::uint8_t* x_panels, std::size_t m, const DenseQc8wView& w, const QEpilogueParams& p,
                       float* y, std::size_t ldy, ThreadPool* pool, const QGemmKernel& kernel) {
  assert(p.row_sum != nullptr);
  run_qlinear(x_panels, m, w.n, w.k4 * 4, kernel.mr, kernel.fn, w,
              row_major_store(qepilogue_kernel().f32, kernel.mr, p, y, ldy), pool);
}

void qu8_qu8_qc8w_gemm(const std::uint8_t* x_panels, std::size_t m, const DenseQc8wView& w, const QEpilogueParams& p,
                       std::uint8_t* y, std::size_t ldy, ThreadPool* pool, const QGemmKernel& kernel) {
  assert(p.row_sum != nullptr);
  run_qlinear(x_panels, m, w.n, w.k4 * 4, kernel.mr, kernel.fn, w,
              row_major_store(qepilogue_kernel().qu8, kernel.mr, p, y, ldy), pool);
}

void qu8_qu8_qc8w_gemm_panels(const std::uint8_t* x_panels, std::size_t m, const DenseQc8wView& w,
                              const QEpilogueParams& p, std::uint8_t* y_panels, ThreadPool* pool,
                              const QGemmKernel& kernel) {
  assert(p.row_sum != nullptr);
  run_qlinear(x_panels, m, w.n, w.k4 * 4, kernel.mr, kernel.fn, w,
              panel_store(qepilogue_kernel().qu8_panel, kernel.mr, w.n, p, y_panels), pool);
}

void f32_gemm(const float* x, std::size_t m, std::size_t ldx, const float* w_panels, std::size_t n, std::size_t k,
              const float* bias, Activation act, float* y, std::size_t ldy, ThreadPool* pool,
              const F32GemmKernel& kernel) {
  const std::size_t mr = kernel.mr, nr = kernel.nr;
  const std::size_t row_blocks = (m + mr - 1) / mr, col_tiles = (n + nr - 1) / nr;
  // Column-tile-major: a thread streams one weight tile (L2) past all its row blocks.
  parallel_for(pool, row_blocks * col_tiles, [&](std::size_t begin, std::size_t end) {
    for (std::size_t item = begin; item < end; ++item) {
      const std::size_t tile = item / row_blocks, rb = item % row_blocks;
      const std::size_t n0 = tile * nr, r0 = rb * mr;
      kernel.fn(std::min(mr, m - r0), std::min(nr, n - n0), k, x + r0 * ldx, ldx, w_panels + n0 * k,
                bias != nullptr ? bias + n0 : nullptr, act, y + r0 * ldy + n0, ldy);
    }
  });
}

}  // namespace sparrow::kernels
