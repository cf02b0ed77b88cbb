// One function per op family, each running one op of a planned graph. Ops split their work over the pool
// by rows or tokens; the arithmetic is in lib/engine/kernels.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "engine/kernels/thread_pool.h"
#include "engine/kv_cache.h"
#include "engine/model.h"

namespace sparrow::engine::ops {

// What an op sees when it runs: its inputs' and output's buffers and shapes, and its scratch space.
struct OpArgs {
  const Op& op;
  std::vector<const void*> in;
  std::vector<const std::vector<std::size_t>*> in_shape;
  void* out = nullptr;
  const std::vector<std::size_t>* out_shape = nullptr;
  std::size_t out_bytes = 0;
  std::uint8_t* scratch = nullptr;
  kernels::ThreadPool* pool = nullptr;
  // An INT8 linear's input panels when they are already packed (Plan::panels_from, Plan::input_panels), else null.
  const std::uint8_t* input_panels = nullptr;
  // Set when an INT8 linear writes its output as the next layers' panels requantized with these (Plan::output_panels).
  const quant::ActivationParams* output_panels = nullptr;
  // A causal LM's KV cache (null when the graph runs without one): rotary and causal_attention take the
  // positions after its `length` tokens, and causal_attention writes its keys and values there.
  KvCache* cache = nullptr;
  // Input 0 and the output are stored [B][H][W][C], not as their [B][C][H][W] shapes say (Plan::channels_last).
  bool in_channels_last = false;
  bool out_channels_last = false;
  // Input 1 likewise (add's second operand, which may be stored otherwise than input 0).
  bool in1_channels_last = false;

  const float* in_f32(std::size_t i) const { return static_cast<const float*>(in[i]); }
  float* out_f32() const { return static_cast<float*>(out); }
  std::size_t in_elements(std::size_t i) const;
  std::size_t out_elements() const;
};

// op_linear.cpp: linear and conv2d over FP32, dense INT8 or sparse INT8 weights.
void linear(const OpArgs& a);
void conv2d(const OpArgs& a);
// op_quantize.cpp: stand-alone quantize / dequantize (quantize ops feeding INT8 layers are folded into them).
void quantize(const OpArgs& a);
void dequantize(const OpArgs& a);
// op_embedding.cpp
void embedding(const OpArgs& a);
// op_norm.cpp
void layer_norm(const OpArgs& a);
// op_elementwise.cpp: gelu, relu, tanh, add, softmax
void gelu(const OpArgs& a);
void relu(const OpArgs& a);
void tanh(const OpArgs& a);
void add(const OpArgs& a);
// y = x + r (then ReLU if `relu`) over [B, C, H, W] maps, each stored NCHW or channels-last; y is laid out as x
// (y == x allowed). Add's operands of two layouts, and a conv2d's residual it could not add in its epilogue.
void add_feature_maps(const float* x, bool x_channels_last, const float* r, bool r_channels_last,
                      const std::vector<std::size_t>& shape, bool relu, float* y);
void softmax(const OpArgs& a);
// op_attention.cpp
void attention(const OpArgs& a);
// op_decoder.cpp: rms_norm, rotary, swiglu, causal_attention
void rms_norm(const OpArgs& a);
void rotary(const OpArgs& a);
void swiglu(const OpArgs& a);
void causal_attention(const OpArgs& a);
// op_shape.cpp: max and global average pooling, first-token pooling, flatten
void max_pool(const OpArgs& a);
void global_avg_pool(const OpArgs& a);
void first_token(const OpArgs& a);
void flatten(const OpArgs& a);

}  // namespace sparrow::engine::ops
