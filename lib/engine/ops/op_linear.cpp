// Linear and conv2d. INT8 layers quantize their FP32 input straight into the micro-kernel's activation
// panels, run the sparse or dense INT8 GEMM and the fused FP32 epilogue; FP32 layers run the FP32 GEMM.
// Conv2d is one GEMM over the whole batch's patches: an INT8 layer gathers them as UINT8 straight into its
// activation panels, an FP32 one through im2col. The GEMM's output is [B][H][W][C]: the op's own output when the
// plan keeps it channels-last (Plan::channels_last), else transposed to NCHW.
#include "core/errors.h"
#include "engine/kernels/linear.h"
#include "engine/kernels/ops.h"
#include "engine/ops/ops.h"
#include "engine/plan.h"

namespace sparrow::engine::ops {

namespace {

using format::WeightFormat;

// The panel height an INT8 layer's GEMM over m tokens reads its input panels with (the kernel gemm picks).
std::size_t panel_height(const LinearWeights& w, std::size_t m) {
  return w.format == WeightFormat::sparse_int8 ? kernels::sparse_kernel(w.sparse.rows, m).mr : kernels::dense_kernel(m).mr;
}

// y[m][n] = x[m][k] . W^T + b (then the activation folded in, if any), any weight format. INT8 layers read their
// input panels from `packed` when set, else quantize-and-pack x into `scratch`; with `y_panels` set they write
// y requantized as the next layers' panels (uint8), with op.requantize set requantized row-major (uint8),
// instead of FP32. The INT8 path is the kernels' one driver (kernels/linear.h).
// `residual` (FP32 outputs only) is added to y before the activation; with `defer_activation` the activation is
// left for the caller.
void gemm(const Op& op, const float* x, std::size_t m, void* y, std::uint8_t* scratch, const std::uint8_t* packed,
          const quant::ActivationParams* y_panels, kernels::ThreadPool* pool, const float* residual = nullptr,
          bool defer_activation = false) {
  const LinearWeights& w = *op.weights;
  const kernels::Activation act = defer_activation ? kernels::Activation::none : op.activation;
  if (w.format == WeightFormat::fp32) {
    kernels::f32_gemm(x, m, w.k, w.f32, w.n, w.k, w.bias, act, static_cast<float*>(y), w.n, pool, kernels::f32_kernel(m));
    return;
  }
  kernels::QEpilogueParams p;
  p.x_scale = op.scale;
  p.x_zero_point = op.zero_point;
  p.w_scale = w.scale;
  p.row_sum = w.row_sum.data();
  p.bias = w.bias;
  p.activation = act;
  p.residual = residual;
  if (y_panels != nullptr) p.y = *y_panels;
  if (op.requantize) p.y = *op.requantize;
  const auto panels = [&](std::size_t mr) {
    if (packed != nullptr) return packed;
    kernels::qu8_pack_panels_f32(x, m, w.k, w.k, {op.scale, op.zero_point}, mr, scratch, pool);
    return static_cast<const std::uint8_t*>(scratch);
  };
  if (w.format == WeightFormat::sparse_int8) {
    // The layer's tile height and the token count pick the kernel (kernels::sparse_kernel): every panel kernel
    // of an ISA has spmm-b4's MR, the panel height the plan sized the scratch for; one token of a 1x4-block
    // layer (decoding) may run the one-token kernel on a one-row panel, as the plan's panel heights say too.
    const kernels::SpmmB4Kernel& kernel = kernels::sparse_kernel(w.sparse.rows, m);  // panel_height's choice
    if (y_panels != nullptr) {
      kernels::qu8_qu8_qc8w_spmm_b4_panels(panels(kernel.mr), m, w.sparse, p, static_cast<std::uint8_t*>(y), pool, kernel);
    } else if (op.requantize) {
      kernels::qu8_qu8_qc8w_spmm_b4(panels(kernel.mr), m, w.sparse, p, static_cast<std::uint8_t*>(y), w.n, pool, kernel);
    } else {
      kernels::qu8_f32_qc8w_spmm_b4(panels(kernel.mr), m, w.sparse, p, static_cast<float*>(y), w.n, pool, kernel);
    }
    return;
  }
  const kernels::QGemmKernel& kernel = kernels::dense_kernel(m);
  if (y_panels != nullptr) {
    kernels::qu8_qu8_qc8w_gemm_panels(panels(kernel.mr), m, w.dense, p, static_cast<std::uint8_t*>(y), pool, kernel);
  } else if (op.requantize) {
    kernels::qu8_qu8_qc8w_gemm(panels(kernel.mr), m, w.dense, p, static_cast<std::uint8_t*>(y), w.n, pool, kernel);
  } else {
    kernels::qu8_f32_qc8w_gemm(panels(kernel.mr), m, w.dense, p, static_cast<float*>(y), w.n, pool, kernel);
  }
}

}  // namespace

void linear(const OpArgs& a) {
  const std::size_t m = a.in_elements(0) / a.op.weights->k;
  gemm(a.op, a.in_f32(0), m, a.out, a.scratch, a.input_panels, a.output_panels, a.pool);
}

void conv2d(const OpArgs& a) {
  const Op& op = a.op;
  const LinearWeights& w = *op.weights;
  const auto& x = *a.in_shape[0];
  const auto& y = *a.out_shape;
  kernels::Conv2dShape s;
  s.channels = x[1];
  s.height = x[2];
  s.width = x[3];
  s.kernel_h = s.kernel_w = op.kernel;
  s.stride = op.stride;
  s.pad = op.pad;
  s.channels_last = a.in_channels_last;
  s.channels_innermost = op.channels_innermost;
  const std::size_t batch = x[0], pixels = y[2] * y[3], m = batch * pixels, n = w.n;
  // The scratch areas, in the order and sizes plan.cpp gives them.
  std::uint8_t* next = a.scratch;
  const auto take = [&](std::size_t bytes) {
    std::uint8_t* area = next;
    next += arena_aligned(bytes);
    return area;
  };
  // A requantized output (model.cpp's UINT8 feature-map fold) is only ever planned channels-last.
  if (op.requantize && !a.out_channels_last) throw InternalError("engine: conv2d '" + op.name + "' requantizes into an NCHW map");
  void* out = a.out_channels_last ? a.out : take(m * n * sizeof(float));
  // An add folded in (model.cpp): the epilogue adds the residual when it lies as the GEMM writes, channels-last;
  // otherwise the sum and the activation are formed afterwards, in the output's layout.
  const float* residual = op.inputs.size() > 1 ? a.in_f32(1) : nullptr;
  const bool fused = residual != nullptr && a.out_channels_last && a.in1_channels_last;
  if (w.format == WeightFormat::fp32) {
    float* cols = reinterpret_cast<float*>(take(m * s.patch() * sizeof(float)));
    const std::size_t image = s.channels * s.height * s.width;
    kernels::parallel_for(a.pool, batch, [&](std::size_t begin, std::size_t end) {
      for (std::size_t b = begin; b < end; ++b) kernels::im2col_f32(a.in_f32(0) + b * image, s, cols + b * pixels * s.patch());
    });
    gemm(op, cols, m, out, nullptr, nullptr, nullptr, a.pool);
  } else if (s.channels_last && s.kernel_h == 1 && s.kernel_w == 1 && s.stride == 1 && s.pad == 0) {
    // A 1x1 convolution over a channels-last map is a linear layer over its pixels: the [B*H*W][C] rows as
    // they lie are its input (ResNet's bottlenecks: most of its convolutions).
    take(batch * s.padded_image_bytes());  // sized by plan.cpp for every INT8 conv; unused here
    std::uint8_t* panels = next;
    if (op.reads_u8)
      kernels::qu8_pack_panels_u8(static_cast<const std::uint8_t*>(a.in[0]), m, s.channels, s.channels, panel_height(w, m), panels, a.pool);
    else
      kernels::qu8_pack_panels_f32(a.in_f32(0), m, s.channels, s.channels, {op.scale, op.zero_point}, panel_height(w, m), panels, a.pool);
    gemm(op, nullptr, m, out, nullptr, panels, nullptr, a.pool, fused ? residual : nullptr, residual != nullptr && !fused);
  } else {
    std::uint8_t* padded = take(batch * s.padded_image_bytes());
    std::uint8_t* panels = next;
    if (op.reads_u8)  // model.cpp's UINT8 feature-map fold: the input is already quantized with these parameters
      kernels::qu8_conv_panels_u8(static_cast<const std::uint8_t*>(a.in[0]), batch, s, static_cast<std::uint8_t>(op.zero_point),
                                  panel_height(w, m), padded, panels, a.pool);
    else
      kernels::qu8_conv_panels_f32(a.in_f32(0), batch, s, {op.scale, op.zero_point}, panel_height(w, m), padded, panels, a.pool);
    gemm(op, nullptr, m, out, nullptr, panels, nullptr, a.pool, fused ? residual : nullptr, residual != nullptr && !fused);
  }
  if (!a.out_channels_last) {
    float* dst = a.out_f32();
    kernels::parallel_for(a.pool, batch * n, [&](std::size_t begin, std::size_t end) {
      for (std::size_t bc = begin; bc < end; ++bc) {
        const std::size_t b = bc / n, c = bc % n;
        const float* src = static_cast<const float*>(out) + b * pixels * n + c;
        float* d = dst + bc * pixels;
        for (std::size_t p = 0; p < pixels; ++p) d[p] = src[p * n];
      }
    });
  }
  if (residual != nullptr && !fused)
    add_feature_maps(a.out_f32(), a.out_channels_last, residual, a.in1_channels_last, y,
                     op.activation == kernels::Activation::relu, a.out_f32());
}

}  // namespace sparrow::engine::ops
