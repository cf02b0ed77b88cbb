// Linear and conv2d. INT8 layers quantize their FP32 input straight into the micro-kernel's activation
// panels, run the sparse or dense INT8 GEMM and the fused FP32 epilogue; FP32 layers run the FP32 GEMM.
// Conv2d is im2col of the whole batch, one GEMM, then a transpose to NCHW.
#include <algorithm>
#include <cstring>

#include "engine/kernels/linear.h"
#include "engine/kernels/ops.h"
#include "engine/ops/ops.h"

namespace sparrow::engine::ops {

namespace {

using format::WeightFormat;

// Output channels per micro-kernel call (the INT32 tile stays in L1) and per work item.
constexpr std::size_t kChannelTile = 16;
constexpr std::size_t kChannelChunk = 64;
constexpr std::size_t kMaxPanelMr = 64;
static_assert(kChannelTile % 4 == 0 && kChannelChunk % 4 == 0, "a call must start on a tile of R = 1, 2 or 4 channels");

// Work items are (token panel, chunk of output channels), chunk-major so that threads share activation
// panels and each reads its own slice of the weights.
template <class Ukernel, class View>
void qgemm(const std::uint8_t* panels, std::size_t m, const LinearWeights& w, std::size_t mr, Ukernel ukernel,
           const View& view, const kernels::QEpilogueParams& p, float* y, kernels::ThreadPool* pool) {
  const std::size_t panel_count = kernels::panel_count(m, mr), chunks = (w.n + kChannelChunk - 1) / kChannelChunk;
  const std::size_t stride = kernels::panel_stride(w.k, mr);
  const kernels::QEpilogueF32Fn epilogue = kernels::qepilogue_kernel().f32;
  kernels::parallel_for(pool, panel_count * chunks, [&](std::size_t begin, std::size_t end) {
    alignas(64) std::int32_t acc[kChannelTile * kMaxPanelMr];
    for (std::size_t item = begin; item < end; ++item) {
      const std::size_t chunk = item / panel_count, panel = item % panel_count;
      const std::size_t rows = std::min(mr, m - panel * mr), n_end = std::min(w.n, (chunk + 1) * kChannelChunk);
      for (std::size_t n0 = chunk * kChannelChunk; n0 < n_end; n0 += kChannelTile) {
        const std::size_t n1 = std::min(n_end, n0 + kChannelTile);
        ukernel(mr, panels + panel * stride, view, n0, n1, acc);
        epilogue(rows, mr, n0, n1 - n0, acc, p, y + panel * mr * w.n, w.n);
      }
    }
  });
}

// y[m][n] = x[m][k] . W^T + b, any weight format; scratch holds the INT8 layers' activation panels.
void gemm(const Op& op, const float* x, std::size_t m, float* y, std::uint8_t* scratch, kernels::ThreadPool* pool) {
  const LinearWeights& w = *op.weights;
  if (w.format == WeightFormat::fp32) {
    const kernels::F32GemmKernel& k = kernels::f32_gemm_kernel();
    const std::size_t row_blocks = (m + k.mr - 1) / k.mr, col_tiles = (w.n + k.nr - 1) / k.nr;
    kernels::parallel_for(pool, row_blocks * col_tiles, [&](std::size_t begin, std::size_t end) {
      for (std::size_t item = begin; item < end; ++item) {
        const std::size_t n0 = (item / row_blocks) * k.nr, r0 = (item % row_blocks) * k.mr;
        k.fn(std::min(k.mr, m - r0), std::min(k.nr, w.n - n0), w.k, x + r0 * w.k, w.k, w.f32 + n0 * w.k,
             w.bias != nullptr ? w.bias + n0 : nullptr, kernels::Activation::none, y + r0 * w.n + n0, w.n);
      }
    });
    return;
  }
  const bool sparse = w.format == WeightFormat::sparse_int8;
  // The layer's tile height picks the sparse kernel; every sparse kernel of an ISA has spmm-b4's MR, the
  // panel height the plan sized the scratch for.
  const kernels::SpmmB4Kernel* spmm = sparse ? &kernels::spmm_kernel(w.sparse.rows) : nullptr;
  const std::size_t mr = sparse ? spmm->mr : kernels::qgemm_kernel().mr;
  const quant::ActivationParams q{op.scale, op.zero_point};
  const std::size_t stride = kernels::panel_stride(w.k, mr), panel_count = kernels::panel_count(m, mr);
  const kernels::QuantizePackRowFn pack_row = kernels::quantize_pack_kernel().fn;
  kernels::parallel_for(pool, panel_count, [&](std::size_t begin, std::size_t end) {
    for (std::size_t panel = begin; panel < end; ++panel) {
      std::uint8_t* out = scratch + panel * stride;
      const std::size_t t0 = panel * mr, rows = std::min(mr, m - t0);
      // Tokens past m in the last panel are multiplied too; zeros keep them harmless and deterministic.
      if (rows < mr) std::memset(out, 0, stride);
      for (std::size_t t = 0; t < rows; ++t) pack_row(x + (t0 + t) * w.k, w.k, q, mr, out + t * 4);
    }
  });
  kernels::QEpilogueParams p;
  p.x_scale = op.scale;
  p.x_zero_point = op.zero_point;
  p.w_scale = w.scale;
  p.row_sum = w.row_sum.data();
  p.bias = w.bias;
  p.activation = op.gelu ? kernels::Activation::gelu : kernels::Activation::none;
  if (sparse) {
    qgemm(scratch, m, w, mr, spmm->fn, w.sparse, p, y, pool);
  } else {
    qgemm(scratch, m, w, mr, kernels::qgemm_kernel().fn, w.dense, p, y, pool);
  }
}

}  // namespace

void linear(const OpArgs& a) {
  const std::size_t m = a.in_elements(0) / a.op.weights->k;
  gemm(a.op, a.in_f32(0), m, a.out_f32(), a.scratch, a.pool);
}

void conv2d(const OpArgs& a) {
  const Op& op = a.op;
  const auto& x = *a.in_shape[0];
  const auto& y = *a.out_shape;
  kernels::Conv2dShape s;
  s.channels = x[1];
  s.height = x[2];
  s.width = x[3];
  s.kernel_h = s.kernel_w = op.kernel;
  s.stride = op.stride;
  s.pad = op.pad;
  const std::size_t batch = x[0], pixels = y[2] * y[3], n = op.weights->n, patch = s.patch();
  const std::size_t image = s.channels * s.height * s.width;
  float* cols = reinterpret_cast<float*>(a.scratch);
  float* out = cols + (pixels * batch * patch + 15) / 16 * 16;
  std::uint8_t* panels = reinterpret_cast<std::uint8_t*>(out + (pixels * batch * n + 15) / 16 * 16);
  kernels::parallel_for(a.pool, batch, [&](std::size_t begin, std::size_t end) {
    for (std::size_t b = begin; b < end; ++b) kernels::im2col_f32(a.in_f32(0) + b * image, s, cols + b * pixels * patch);
  });
  gemm(op, cols, batch * pixels, out, panels, a.pool);
  float* dst = a.out_f32();
  kernels::parallel_for(a.pool, batch * n, [&](std::size_t begin, std::size_t end) {
    for (std::size_t bc = begin; bc < end; ++bc) {
      const std::size_t b = bc / n, c = bc % n;
      const float* src = out + b * pixels * n + c;
      float* d = dst + bc * pixels;
      for (std::size_t p = 0; p < pixels; ++p) d[p] = src[p * n];
    }
  });
}

}  // namespace sparrow::engine::ops
