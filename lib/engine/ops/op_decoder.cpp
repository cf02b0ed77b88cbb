// A decoder's ops. Positions continue after the tokens already in the KV cache (0 without one); causal
// attention appends its keys and values to the cache, then attends over everything there, split over heads.
#include <cmath>
#include <cstring>
#include <string>

#include "core/errors.h"
#include "engine/kernels/ops.h"
#include "engine/ops/ops.h"

namespace sparrow::engine::ops {

namespace {
std::size_t past_tokens(const OpArgs& a) { return a.cache != nullptr ? a.cache->length : 0; }
}  // namespace

void rms_norm(const OpArgs& a) {
  const std::size_t n = a.op.width, rows = a.in_elements(0) / n;
  kernels::parallel_for(a.pool, rows, [&](std::size_t begin, std::size_t end) {
    kernels::rms_norm_f32(a.in_f32(0) + begin * n, end - begin, n, a.op.gamma, a.op.eps, a.out_f32() + begin * n);
  });
}

void rotary(const OpArgs& a) {
  const auto& s = *a.in_shape[0];
  const std::size_t batch = s[0], seq = s[1], width = s[2];
  for (std::size_t b = 0; b < batch; ++b)
    kernels::rotary_f32(a.in_f32(0) + b * seq * width, seq, a.op.heads, a.op.head_size, a.op.theta, past_tokens(a),
                        a.out_f32() + b * seq * width);
}

void swiglu(const OpArgs& a) { kernels::swiglu_f32(a.in_f32(0), a.in_f32(1), a.out_elements(), a.out_f32()); }

void causal_attention(const OpArgs& a) {
  const Op& op = a.op;
  const auto& s = *a.in_shape[0];
  const std::size_t batch = s[0], seq = s[1], hs = op.head_size, width = op.heads * hs, kv_width = op.kv_heads * hs;
  const std::size_t group = op.heads / op.kv_heads;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hs));
  KvCache* cache = a.cache;
  if (cache == nullptr) {
    // The whole sequence at once (the exporter's checks, a classifier-style run): keys are the inputs.
    kernels::parallel_for(a.pool, batch * op.heads, [&](std::size_t begin, std::size_t end) {
      for (std::size_t i = begin; i < end; ++i) {
        const std::size_t b = i / op.heads, h = i % op.heads, g = h / group;
        const std::size_t row = b * seq;
        kernels::causal_attention_f32(a.in_f32(0) + row * width + h * hs, width, seq, 0, a.in_f32(1) + row * kv_width + g * hs,
                                      kv_width, a.in_f32(2) + row * kv_width + g * hs, kv_width, hs, scale,
                                      a.out_f32() + row * width + h * hs, width);
      }
    });
    return;
  }
  if (batch != 1) throw BadInput("op '" + op.name + "': a KV cache holds one sequence; the batch is " + std::to_string(batch));
  const std::size_t past = cache->length;
  if (past + seq > cache->context)
    throw BadInput("op '" + op.name + "': " + std::to_string(past + seq) + " tokens exceed the KV cache's context of " +
                   std::to_string(cache->context));
  for (std::size_t g = 0; g < op.kv_heads; ++g) {
    float* keys = cache->keys.data() + cache->offset(op.cache_slot, g);
    float* values = cache->values.data() + cache->offset(op.cache_slot, g);
    for (std::size_t t = 0; t < seq; ++t) {
      std::memcpy(keys + (past + t) * hs, a.in_f32(1) + t * kv_width + g * hs, hs * sizeof(float));
      std::memcpy(values + (past + t) * hs, a.in_f32(2) + t * kv_width + g * hs, hs * sizeof(float));
    }
  }
  kernels::parallel_for(a.pool, op.heads, [&](std::size_t begin, std::size_t end) {
    for (std::size_t h = begin; h < end; ++h) {
      const std::size_t g = h / group;
      kernels::causal_attention_f32(a.in_f32(0) + h * hs, width, seq, past, cache->keys.data() + cache->offset(op.cache_slot, g), hs,
                                    cache->values.data() + cache->offset(op.cache_slot, g), hs, hs, scale,
                                    a.out_f32() + h * hs, width);
    }
  });
}

}  // namespace sparrow::engine::ops
