// The UINT8 activation panel layout of engine/kernels/quant.h, written out plainly for the kernel tests:
// [K4][mr][4] per panel of mr tokens, zeros for tokens past M and inputs past K.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace sparrow::test {

// x row-major [m][k] -> panels.
inline std::vector<std::uint8_t> pack_panels_u8(const std::vector<std::uint8_t>& x, std::size_t m, std::size_t k,
                                                std::size_t mr) {
  const std::size_t k4 = (k + 3) / 4, panels = (m + mr - 1) / mr;
  std::vector<std::uint8_t> out(panels * k4 * mr * 4, 0);
  for (std::size_t t = 0; t < m; ++t)
    for (std::size_t i = 0; i < k; ++i) out[(t / mr) * k4 * mr * 4 + (i / 4) * mr * 4 + (t % mr) * 4 + i % 4] = x[t * k + i];
  return out;
}

}  // namespace sparrow::test
