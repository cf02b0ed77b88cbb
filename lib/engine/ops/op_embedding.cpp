// Embedding lookups: by token id, by position, or one constant row (single-segment token types).
#include <cstring>
#include <string>

#include "core/errors.h"
#include "engine/ops/ops.h"

namespace sparrow::engine::ops {

void embedding(const OpArgs& a) {
  const Op& op = a.op;
  const auto* ids = static_cast<const std::int64_t*>(a.in[0]);
  const std::size_t batch = (*a.in_shape[0])[0], seq = (*a.in_shape[0])[1], width = op.width;
  float* y = a.out_f32();
  for (std::size_t b = 0; b < batch; ++b) {
    for (std::size_t t = 0; t < seq; ++t) {
      std::size_t row = op.index;
      if (op.indices == EmbeddingIndices::positions) row = t;
      if (op.indices == EmbeddingIndices::ids) {
        const std::int64_t id = ids[b * seq + t];
        if (id < 0 || static_cast<std::size_t>(id) >= op.rows)
          throw BadInput("op '" + op.name + "': token id " + std::to_string(id) + " is outside the table's " +
                         std::to_string(op.rows) + " rows");
        row = static_cast<std::size_t>(id);
      }
      std::memcpy(y + (b * seq + t) * width, op.table + row * width, width * sizeof(float));
    }
  }
}

}  // namespace sparrow::engine::ops
