// Element-wise ops and the row softmax, split over the pool in contiguous slices.
#include <algorithm>
#include <cmath>

#include "engine/kernels/ops.h"
#include "engine/ops/ops.h"

namespace sparrow::engine::ops {

namespace {
// Below this many elements a parallel_for costs more than it saves.
constexpr std::size_t kMinParallel = 1 << 14;

template <class Fn>
void slices(const OpArgs& a, std::size_t count, Fn fn) {
  if (count < kMinParallel) {
    fn(0, count);
    return;
  }
  kernels::parallel_for(a.pool, count, fn);
}
}  // namespace

void gelu(const OpArgs& a) {
  slices(a, a.out_elements(), [&](std::size_t b, std::size_t e) { kernels::gelu_f32(a.in_f32(0) + b, e - b, a.out_f32() + b); });
}

void relu(const OpArgs& a) {
  slices(a, a.out_elements(), [&](std::size_t b, std::size_t e) { kernels::relu_f32(a.in_f32(0) + b, e - b, a.out_f32() + b); });
}

void tanh(const OpArgs& a) {
  slices(a, a.out_elements(), [&](std::size_t b, std::size_t e) {
    for (std::size_t i = b; i < e; ++i) a.out_f32()[i] = std::tanh(a.in_f32(0)[i]);
  });
}

void add_feature_maps(const float* x, bool x_channels_last, const float* r, bool r_channels_last,
                      const std::vector<std::size_t>& shape, bool relu, float* y) {
  const std::size_t channels = shape[1], pixels = shape[2] * shape[3], image = channels * pixels;
  for (std::size_t i = 0; i < shape[0] * image; ++i) {
    const std::size_t b = i / image, j = i % image;
    const std::size_t other = x_channels_last == r_channels_last ? j
                              : x_channels_last                  ? (j % channels) * pixels + j / channels
                                                                 : (j % pixels) * channels + j / pixels;
    const float sum = x[i] + r[b * image + other];
    y[i] = relu ? std::max(sum, 0.0f) : sum;
  }
}

void add(const OpArgs& a) {
  // A ReLU reading the sum alone is folded in (model.cpp): ResNet's blocks end in relu(convs + shortcut).
  const bool relu = a.op.activation == kernels::Activation::relu;
  if (a.in_channels_last != a.in1_channels_last) {
    // Two feature maps stored differently (Plan::channels_last): the output takes input 0's layout.
    add_feature_maps(a.in_f32(0), a.in_channels_last, a.in_f32(1), a.in1_channels_last, *a.out_shape, relu, a.out_f32());
    return;
  }
  slices(a, a.out_elements(), [&](std::size_t b, std::size_t e) {
    (relu ? kernels::add_relu_f32 : kernels::add_f32)(a.in_f32(0) + b, a.in_f32(1) + b, e - b, a.out_f32() + b);
  });
}

void softmax(const OpArgs& a) {
  const std::size_t n = a.out_shape->back(), rows = a.out_elements() / n;
  kernels::softmax_f32(a.in_f32(0), rows, n, n, a.out_f32(), n);
}

}  // namespace sparrow::engine::ops
