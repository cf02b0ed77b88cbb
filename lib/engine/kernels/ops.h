// The FP32 operators around the linear layers. Layer norm, softmax, GELU and attention dispatch at run time to
// micro-kernels (ops_ukernels.h; attention also runs the FP32 GEMM's); the rest is portable code.
#pragma once

#include <cstddef>
#include <cstdint>

#include "engine/kernels/linear.h"
#include "engine/kernels/ops_ukernels.h"
#include "engine/kernels/select_kernel.h"

namespace sparrow::kernels {

using LayerNormKernel = IsaKernel<F32LayerNormFn>;
using ExpMinusMaxSumKernel = IsaKernel<F32ExpMinusMaxSumFn>;
using GeluKernel = IsaKernel<F32GeluFn>;
const std::vector<LayerNormKernel>& layer_norm_kernels();
const std::vector<ExpMinusMaxSumKernel>& exp_minus_max_sum_kernels();
const std::vector<GeluKernel>& gelu_kernels();
// The kernel chosen for this CPU; the choice is logged once.
const LayerNormKernel& layer_norm_kernel();
const ExpMinusMaxSumKernel& exp_minus_max_sum_kernel();
const GeluKernel& gelu_kernel();

// y[i] = (x[i] - mean) / sqrt(var + eps) * gamma + beta over each row of n values (biased variance); x == y
// allowed (each value is read before it is written).
void layer_norm_f32(const float* x, std::size_t m, std::size_t n, std::size_t ldx, const float* gamma,
                    const float* beta, float eps, float* y, std::size_t ldy,
                    const LayerNormKernel& kernel = layer_norm_kernel());
// Row-wise softmax, max-subtracted.
void softmax_f32(const float* x, std::size_t m, std::size_t n, std::size_t ldx, float* y, std::size_t ldy,
                 const ExpMinusMaxSumKernel& kernel = exp_minus_max_sum_kernel());
// GELU of each value (x == y allowed): the AVX2 kernel is within 2e-7 * max(1, |x|) of f32_gelu_ref.
void gelu_f32(const float* x, std::size_t count, float* y, const GeluKernel& kernel = gelu_kernel());
void relu_f32(const float* x, std::size_t count, float* y);
void add_f32(const float* a, const float* b, std::size_t count, float* y);
// max(a + b, 0): a residual connection and the ReLU after it in one pass.
void add_relu_f32(const float* a, const float* b, std::size_t count, float* y);

// Multi-head attention of `batch` sequences of `seq` tokens: for sequence b and head h,
// out_h = softmax(Q_h K_h^T * scale + mask) V_h, where Q_h is columns [h*head_dim, (h+1)*head_dim) of sequence b's
// rows of q (row-major [batch*seq][ld], sequence b from row b*seq), same for k, v and out ([batch*seq][ldo]).
// key_valid (nullable, [batch][seq]) marks padding keys with 0: they get no weight (a row with no valid key
// is zero). seq <= kMaxAttentionSeq. Fused per (sequence, head) (attention.cpp) on the given FP32 GEMM and
// softmax kernels, split over (sequence, head) pairs, and over query rows when there are fewer pairs than
// threads.
inline constexpr std::size_t kMaxAttentionSeq = 512;
void attention_f32(const float* q, const float* k, const float* v, std::size_t ld, std::size_t batch, std::size_t seq,
                   std::size_t heads, std::size_t head_dim, const std::uint8_t* key_valid, float scale, float* out,
                   std::size_t ldo, ThreadPool* pool = nullptr, const F32GemmKernel& gemm = f32_gemm_kernel(),
                   const ExpMinusMaxSumKernel& softmax = exp_minus_max_sum_kernel());

// The same attention in INT8 (docs/format.md "INT8 attention"): q is UINT8 with quant.q, k and v UINT8 with
// zero point 128 and scales quant.k_scale, quant.v_scale (their INT8 values are q - 128). Scores come from exact
// INT32 sums through the INT8 linear epilogue (K as the weights, scale folded into its scale), the softmax
// output is quantized to UINT8 (scale 1/255) and P V is an exact INT32 sum times s_p * s_v. The INT8 products
// run on the dense INT8 GEMM micro-kernel, so VNNI, AVX2 and the portable path are the linear layers' own.
struct AttentionQuant {
  quant::ActivationParams q;
  float k_scale = 1.0f;
  float v_scale = 1.0f;
};
void attention_qu8(const std::uint8_t* q, const std::uint8_t* k, const std::uint8_t* v, std::size_t ld,
                   std::size_t batch, std::size_t seq, std::size_t heads, std::size_t head_dim,
                   const std::uint8_t* key_valid, const AttentionQuant& quant, float scale, float* out, std::size_t ldo,
                   ThreadPool* pool = nullptr, const QGemmKernel& gemm = qgemm_kernel(),
                   const QEpilogueKernel& epilogue = qepilogue_kernel(),
                   const ExpMinusMaxSumKernel& softmax = exp_minus_max_sum_kernel(),
                   const QuantizePackKernel& pack = quantize_pack_kernel());

// Decoder operators (docs/format.md "Ops"), portable code: at batch 1 the linear layers dominate them.
// y = x / sqrt(mean(x^2) + eps) * gamma over each row of n values (x == y allowed).
void rms_norm_f32(const float* x, std::size_t m, std::size_t n, const float* gamma, float eps, float* y);
// Rotary position embedding of `rows` tokens at positions first_pos, first_pos + 1, ... (rotate-half pairs
// (i, i + head_size/2) of each head turned by position * theta^(-2i / head_size)), row-major [rows][heads *
// head_size]; x == y allowed.
void rotary_f32(const float* x, std::size_t rows, std::size_t heads, std::size_t head_size, float theta,
                std::size_t first_pos, float* y);
// y = silu(a) * b = a / (1 + exp(-a)) * b.
void swiglu_f32(const float* a, const float* b, std::size_t count, float* y);
// Causal attention of one query head over one key/value head: query r (rows of q, stride ldq, at position
// first_pos + r) attends to keys 0 .. first_pos + r (rows of k and v, strides ldk and ldv):
// out_r = softmax(q_r k^T * scale) v, written at out + r * ldo. head_dim values per row.
void causal_attention_f32(const float* q, std::size_t ldq, std::size_t rows, std::size_t first_pos, const float* k,
                          std::size_t ldk, const float* v, std::size_t ldv, std::size_t head_dim, float scale, float* out,
                          std::size_t ldo, const ExpMinusMaxSumKernel& softmax = exp_minus_max_sum_kernel());

struct Conv2dShape {
  std::size_t channels = 0, height = 0, width = 0;  // input, one image
  std::size_t kernel_h = 1, kernel_w = 1, stride = 1, pad = 0;
  // The input is stored [H][W][C] (how the engine keeps the activations between convolutions), else [C][H][W].
  bool channels_last = false;
  // The patch, K, runs (ky, kx, c) (a weight blocked along input channels, "patch_order" "hwc"; channels a
  // multiple of 4), else (c, ky, kx).
  bool channels_innermost = false;
  std::size_t out_h() const { return (height + 2 * pad - kernel_h) / stride + 1; }
  std::size_t out_w() const { return (width + 2 * pad - kernel_w) / stride + 1; }
  std::size_t patch() const { return channels * kernel_h * kernel_w; }
  // Element strides of the input: from one channel, row and column to the next.
  std::size_t channel_step() const { return channels_last ? 1 : height * width; }
  std::size_t row_step() const { return channels_last ? width * channels : width; }
  std::size_t column_step() const { return channels_last ? channels : 1; }
  // Bytes of one image quantized with its zero-point border: [H + 2 pad][W + 2 pad][C] for a channels-innermost
  // patch, else [C][H + 2 pad][W + 2 pad].
  std::size_t padded_image_bytes() const { return channels * (height + 2 * pad) * (width + 2 * pad); }
};
// cols[(oy*out_w + ox)][c*kh*kw + ky*kw + kx] = x[c][oy*stride + ky - pad][ox*stride + kx - pad] (0 outside);
// with s.channels_innermost, at [(ky*kw + kx)*C + c].
void im2col_f32(const float* x, const Conv2dShape& s, float* cols);
// The INT8 convolution's input, what im2col then qu8_pack_panels_f32 would give, without the FP32 columns:
// the `batch` images of x (consecutive, in s's layout) are each quantized once into `padded`
// (batch * s.padded_image_bytes() bytes), whose border holds the zero point (what a zero input quantizes to),
// and every output pixel's patch is gathered from there in im2col's order (byte by byte; 4 channels at a time
// with s.channels_innermost), into the GEMM's activation panels (out: panels_bytes(batch * out_h * out_w, s.patch(), mr) bytes).
void qu8_conv_panels_f32(const float* x, std::size_t batch, const Conv2dShape& s, quant::ActivationParams q,
                         std::size_t mr, std::uint8_t* padded, std::uint8_t* out, ThreadPool* pool = nullptr);
// The same from images already quantized with this zero point (UINT8 feature maps, in s's layout).
void qu8_conv_panels_u8(const std::uint8_t* x, std::size_t batch, const Conv2dShape& s, std::uint8_t zero_point,
                        std::size_t mr, std::uint8_t* padded, std::uint8_t* out, ThreadPool* pool = nullptr);

struct Pool2dShape {
  std::size_t channels = 0, height = 0, width = 0;
  std::size_t kernel = 2, stride = 2, pad = 0;
  std::size_t out_h() const { return (height + 2 * pad - kernel) / stride + 1; }
  std::size_t out_w() const { return (width + 2 * pad - kernel) / stride + 1; }
};
// Max pooling of one image, [C][H][W] or [H][W][C] (channels innermost: each window position is one
// contiguous run the compiler vectorizes); padding never wins.
void max_pool2d_f32(const float* x, const Pool2dShape& s, float* y);
void max_pool2d_nhwc_f32(const float* x, const Pool2dShape& s, float* y);
// Of UINT8 feature maps: the maximum of quantized values is the quantized maximum.
void max_pool2d_nhwc_u8(const std::uint8_t* x, const Pool2dShape& s, std::uint8_t* y);
// The mean over an image's pixels per channel, [C][pixels] or [pixels][C] -> [C].
void global_avg_pool_f32(const float* x, std::size_t pixels, std::size_t channels, float* y);
void global_avg_pool_nhwc_f32(const float* x, std::size_t pixels, std::size_t channels, float* y);

}  // namespace sparrow::kernels
