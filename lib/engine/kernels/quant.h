// The UINT8 activation panel layout every INT8 GEMM here reads, and the parameters of the INT8 epilogue. The
// quantization scheme itself (scales, rounding, requantization) is lib/quant's, shared with the trainer.
//
// Panel layout: tokens are grouped in panels of `mr` rows; a panel stores
//   [K4 = ceil(K/4)][mr tokens][4 input values]
// so that one 64-byte load holds 16 tokens x 4 consecutive inputs, exactly what one vpdpbusd consumes
// against a broadcast 1x4 weight block. Tokens past M and inputs past K are zero (weights past K are zero
// too, so padding never contributes).
#pragma once

#include <cstddef>
#include <cstdint>

#include "quant/scheme.h"

namespace sparrow::kernels {

enum class Activation : std::uint8_t { none, relu, gelu };

inline std::size_t round_up_4(std::size_t k) { return (k + 3) / 4 * 4; }
inline std::size_t panel_count(std::size_t m, std::size_t mr) { return (m + mr - 1) / mr; }
// Bytes of one panel and of all panels for M tokens.
inline std::size_t panel_stride(std::size_t k, std::size_t mr) { return round_up_4(k) * mr; }
inline std::size_t panels_bytes(std::size_t m, std::size_t k, std::size_t mr) {
  return panel_count(m, mr) * panel_stride(k, mr);
}

class ThreadPool;
// FP32 row-major x[M][ldx] -> quantized UINT8 panels (out: panels_bytes(m, k, mr) bytes), panels split over
// the pool: what every INT8 linear does to its FP32 input.
void qu8_pack_panels_f32(const float* x, std::size_t m, std::size_t k, std::size_t ldx, quant::ActivationParams q,
                         std::size_t mr, std::uint8_t* out, ThreadPool* pool = nullptr);
// UINT8 row-major x[M][ldx], already quantized -> the same panels (bytes past k zero), panels split over the
// pool: a 1x1 convolution's UINT8 channels-last input, whose pixels are the rows.
void qu8_pack_panels_u8(const std::uint8_t* x, std::size_t m, std::size_t k, std::size_t ldx, std::size_t mr,
                        std::uint8_t* out, ThreadPool* pool = nullptr);
// FP32 -> UINT8, plain row-major.
void qu8_quantize_f32(const float* x, std::size_t count, quant::ActivationParams q, std::uint8_t* out);

// Parameters of the fused epilogue of an INT8 linear:
//   v = quant::dequantize_accumulator(acc, x_zero_point, row_sum[n], x_scale, w_scale[n], bias + n), then the
//   activation; FP32 output stores v, UINT8 output stores quant::quantize_activation(v, y).
struct QEpilogueParams {
  float x_scale = 1.0f;
  std::int32_t x_zero_point = 0;
  const float* w_scale = nullptr;      // [N]
  const std::int32_t* row_sum = nullptr;  // [N], sum of the quantized weights of each output channel
  const float* bias = nullptr;         // [N] or null
  Activation activation = Activation::none;
  quant::ActivationParams y{};         // used by the UINT8 output only
  // FP32 row-major outputs only: a matrix laid out like y (same ldy) added to each value before the activation
  // (a residual connection: relu(conv(x) + shortcut)); null for none.
  const float* residual = nullptr;
};

}  // namespace sparrow::kernels
