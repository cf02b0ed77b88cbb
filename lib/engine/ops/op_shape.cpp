// Max and global average pooling (NCHW or channels-last), first-token pooling ([B, L, H] -> [B, H]) and flatten (a copy, as
// buffers are planned per value; from channels-last, a transpose into the graph's NCHW order).
#include <cstring>

#include "engine/kernels/ops.h"
#include "engine/ops/ops.h"

namespace sparrow::engine::ops {

void max_pool(const OpArgs& a) {
  const auto& x = *a.in_shape[0];
  kernels::Pool2dShape s;
  s.channels = x[1];
  s.height = x[2];
  s.width = x[3];
  s.kernel = a.op.kernel;
  s.stride = a.op.stride;
  s.pad = a.op.pad;
  const std::size_t in_image = x[1] * x[2] * x[3], out_image = a.out_elements() / x[0];
  kernels::parallel_for(a.pool, x[0], [&](std::size_t begin, std::size_t end) {
    for (std::size_t b = begin; b < end; ++b) {
      if (a.op.reads_u8) {  // model.cpp's UINT8 feature-map fold: a channels-last UINT8 map
        const auto* in = static_cast<const std::uint8_t*>(a.in[0]);
        kernels::max_pool2d_nhwc_u8(in + b * in_image, s, static_cast<std::uint8_t*>(a.out) + b * out_image);
        continue;
      }
      const float* in = a.in_f32(0) + b * in_image;
      float* out = a.out_f32() + b * out_image;
      if (a.in_channels_last) kernels::max_pool2d_nhwc_f32(in, s, out);
      else kernels::max_pool2d_f32(in, s, out);
    }
  });
}

void global_avg_pool(const OpArgs& a) {
  const auto& x = *a.in_shape[0];
  const std::size_t channels = x[1], pixels = x[2] * x[3];
  // [B, C, 1, 1] is the same bytes in either layout.
  kernels::parallel_for(a.pool, x[0], [&](std::size_t begin, std::size_t end) {
    for (std::size_t b = begin; b < end; ++b) {
      const float* in = a.in_f32(0) + b * pixels * channels;
      if (a.in_channels_last) kernels::global_avg_pool_nhwc_f32(in, pixels, channels, a.out_f32() + b * channels);
      else kernels::global_avg_pool_f32(in, pixels, channels, a.out_f32() + b * channels);
    }
  });
}

void first_token(const OpArgs& a) {
  const auto& x = *a.in_shape[0];
  for (std::size_t b = 0; b < x[0]; ++b) std::memcpy(a.out_f32() + b * x[2], a.in_f32(0) + b * x[1] * x[2], x[2] * sizeof(float));
}

void flatten(const OpArgs& a) {
  if (!a.in_channels_last) {
    std::memcpy(a.out, a.in[0], a.out_bytes);
    return;
  }
  // The layer after it was trained on PyTorch's flatten of [C][H][W].
  const auto& x = *a.in_shape[0];
  const std::size_t channels = x[1], pixels = x[2] * x[3];
  for (std::size_t b = 0; b < x[0]; ++b) {
    const float* in = a.in_f32(0) + b * pixels * channels;
    float* out = a.out_f32() + b * pixels * channels;
    for (std::size_t p = 0; p < pixels; ++p)
      for (std::size_t c = 0; c < channels; ++c) out[c * pixels + p] = in[p * channels + c];
  }
}

}  // namespace sparrow::engine::ops
