#include "engine/kernels/quant.h"

#include <algorithm>
#include <cstring>

#include "engine/kernels/linear.h"
#include "engine/kernels/thread_pool.h"

namespace sparrow::kernels {

void qu8_pack_panels_f32(const float* x, std::size_t m, std::size_t k, std::size_t ldx, quant::ActivationParams q,
                         std::size_t mr, std::uint8_t* out, ThreadPool* pool) {
  const QuantizePackRowFn row = quantize_pack_kernel().fn;
  const std::size_t stride = panel_stride(k, mr);
  parallel_for(pool, panel_count(m, mr), [&](std::size_t begin, std::size_t end) {
    for (std::size_t panel = begin; panel < end; ++panel) {
      std::uint8_t* dst = out + panel * stride;
      const std::size_t t0 = panel * mr, rows = std::min(mr, m - t0);
      // Rows write every input group and its zero padding; only the tokens past m, in the last panel, need
      // clearing (they are multiplied too, and zeros keep them harmless and deterministic).
      if (rows < mr) std::memset(dst, 0, stride);
      for (std::size_t t = 0; t < rows; ++t) row(x + (t0 + t) * ldx, k, q, mr, dst + t * 4);
    }
  });
}

void qu8_pack_panels_u8(const std::uint8_t* x, std::size_t m, std::size_t k, std::size_t ldx, std::size_t mr,
                        std::uint8_t* out, ThreadPool* pool) {
  const std::size_t stride = panel_stride(k, mr), groups = k / 4, tail = k % 4;
  parallel_for(pool, panel_count(m, mr), [&](std::size_t begin, std::size_t end) {
    for (std::size_t panel = begin; panel < end; ++panel) {
      std::uint8_t* dst = out + panel * stride;
      const std::size_t t0 = panel * mr, rows = std::min(mr, m - t0);
      if (rows < mr) std::memset(dst, 0, stride);
      for (std::size_t t = 0; t < rows; ++t) {
        const std::uint8_t* src = x + (t0 + t) * ldx;
        std::uint8_t* d = dst + t * 4;
        for (std::size_t g = 0; g < groups; ++g) std::memcpy(d + g * mr * 4, src + 4 * g, 4);
        if (tail == 0) continue;
        std::uint8_t last[4] = {0, 0, 0, 0};
        std::memcpy(last, src + 4 * groups, tail);
        std::memcpy(d + groups * mr * 4, last, 4);
      }
    }
  });
}

void qu8_quantize_f32(const float* x, std::size_t count, quant::ActivationParams q, std::uint8_t* out) {
  for (std::size_t i = 0; i < count; ++i) out[i] = quant::quantize_activation(x[i], q);
}

}  // namespace sparrow::kernels
