// Portable reference of the quantize-and-pack row kernel.
#include "engine/kernels/ukernels.h"

namespace sparrow::kernels {

void f32_qu8_pack_row__scalar(const float* x, std::size_t k, quant::ActivationParams q, std::size_t mr, std::uint8_t* panel_row) {
  for (std::size_t i = 0; i < round_up_4(k); ++i) {
    panel_row[(i / 4) * mr * 4 + i % 4] = i < k ? quant::quantize_activation(x[i], q) : 0;
  }
}

}  // namespace sparrow::kernels
