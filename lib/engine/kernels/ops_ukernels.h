// Micro-kernel declarations of the FP32 operators around the linear layers (softmax, layer norm, GELU),
// generated from their .inc tables, and the reference GELU. Plain data only, like ukernels.h: the ISA-flagged files include this header.
#pragma once

#include <cstddef>

namespace sparrow::kernels {

// The exponential pass of a softmax row: x[j] <- exp(x[j] - max_j x[j]) for j < n (n >= 1); returns the sum
// of the new values. -inf entries (masked) become 0; a row of only -inf becomes all 0 and returns 0.
using F32ExpMinusMaxSumFn = float (*)(std::size_t n, float* x);
// y[i][j] = (x[i][j] - mean_i) / sqrt(var_i + eps) * gamma[j] + beta[j] over m rows of n >= 1 values
// (biased variance); row i of x starts at x + i * ldx, of y at y + i * ldy.
using F32LayerNormFn = void (*)(std::size_t m, std::size_t n, const float* x, std::size_t ldx, const float* gamma,
                                const float* beta, float eps, float* y, std::size_t ldy);
// y[i] = GELU(x[i]) for i < n (x == y allowed).
using F32GeluFn = void (*)(std::size_t n, const float* x, float* y);

// GELU of one value, the exact form computed in double and rounded once (gelu/f32-gelu-scalar.cpp): the
// scalar micro-kernel, the fused GELU of the scalar kernels and of requantized outputs, and the tests' reference.
float f32_gelu_ref(float x);

#define SPR_SOFTMAX(isa, fn) float fn(std::size_t n, float* x);
#include "engine/kernels/softmax/f32-exp-minus-max-sum.inc"
#undef SPR_SOFTMAX

#define SPR_LAYERNORM(isa, fn)                                                                                \
  void fn(std::size_t m, std::size_t n, const float* x, std::size_t ldx, const float* gamma, const float* beta, \
          float eps, float* y, std::size_t ldy);
#include "engine/kernels/layernorm/f32-layernorm.inc"
#undef SPR_LAYERNORM

#define SPR_GELU(isa, fn) void fn(std::size_t n, const float* x, float* y);
#include "engine/kernels/gelu/f32-gelu.inc"
#undef SPR_GELU

}  // namespace sparrow::kernels
