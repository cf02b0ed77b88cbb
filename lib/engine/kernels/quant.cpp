#include "engine/kernels/quant.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "engine/kernels/linear.h"

namespace sparrow::kernels {

QuantParams choose_qu8_params(float lo, float hi) {
  lo = std::min(lo, 0.0f);
  hi = std::max(hi, 0.0f);
  QuantParams q;
  q.scale = (hi - lo) / 255.0f;
  if (q.scale == 0.0f) q.scale = 1.0f;
  q.zero_point = static_cast<std::int32_t>(std::clamp(std::nearbyint(-lo / q.scale), 0.0f, 255.0f));
  return q;
}

std::uint8_t quantize_qu8(float x, QuantParams q) {
  const float v = std::nearbyint(x / q.scale) + static_cast<float>(q.zero_point);
  return static_cast<std::uint8_t>(std::clamp(v, 0.0f, 255.0f));
}

float gelu_f32(float x) {
  const double v = x;
  return static_cast<float>(0.5 * v * (1.0 + std::erf(v * 0.70710678118654752440)));
}

namespace {

template <class Get>
void pack_panels(std::size_t m, std::size_t k, std::size_t mr, std::uint8_t* out, Get get) {
  const std::size_t k4 = round_up_4(k) / 4;
  std::memset(out, 0, panels_bytes(m, k, mr));
  for (std::size_t t = 0; t < m; ++t) {
    std::uint8_t* panel = out + (t / mr) * panel_stride(k, mr) + (t % mr) * 4;
    for (std::size_t kb = 0; kb < k4; ++kb) {
      for (std::size_t j = 0; j < 4 && kb * 4 + j < k; ++j) panel[kb * mr * 4 + j] = get(t, kb * 4 + j);
    }
  }
}

}  // namespace

void qu8_pack_panels_f32(const float* x, std::size_t m, std::size_t k, std::size_t ldx, QuantParams q,
                         std::size_t mr, std::uint8_t* out) {
  const QuantizePackRowFn row = quantize_pack_kernel().fn;
  const std::size_t stride = panel_stride(k, mr);
  // Rows write every input group and its zero padding; only the tokens past m, in the last panel, need clearing.
  if (m % mr != 0) std::memset(out + (m / mr) * stride, 0, stride);
  for (std::size_t t = 0; t < m; ++t) row(x + t * ldx, k, q, mr, out + (t / mr) * stride + (t % mr) * 4);
}

void qu8_pack_panels_u8(const std::uint8_t* x, std::size_t m, std::size_t k, std::size_t ldx, std::size_t mr,
                        std::uint8_t* out) {
  pack_panels(m, k, mr, out, [&](std::size_t t, std::size_t i) { return x[t * ldx + i]; });
}

void qu8_quantize_f32(const float* x, std::size_t count, QuantParams q, std::uint8_t* out) {
  for (std::size_t i = 0; i < count; ++i) out[i] = quantize_qu8(x[i], q);
}

}  // namespace sparrow::kernels
