// The memory plan for one (batch, sequence) shape: every value's concrete shape, checked op by op, and its
// place in one arena, reused once a value is dead (first fit, in op order). Built once per shape and kept.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "engine/model.h"
#include "quant/scheme.h"

namespace sparrow::engine {

inline constexpr std::size_t kNoBuffer = static_cast<std::size_t>(-1);
// Every buffer in the arena, and every area an op carves out of its scratch, starts 64-byte aligned.
inline std::size_t arena_aligned(std::size_t bytes) { return (bytes + 63) / 64 * 64; }

struct Plan {
  std::size_t batch = 0;
  std::size_t seq = 0;
  std::vector<std::vector<std::size_t>> shapes;  // per value
  std::vector<std::size_t> offsets;              // per value: byte offset in the arena, or kNoBuffer
  // Per value: stored [B][H][W][C] instead of the graph's [B][C][H][W] (channels_last_values in plan.cpp).
  std::vector<bool> channels_last;
  std::vector<std::size_t> scratch;              // per op: byte offset of its scratch space, or kNoBuffer
  std::vector<std::size_t> scratch_bytes;        // per op
  // Per op: the op whose scratch already holds this INT8 linear's input panels (the same input value quantized
  // with the same parameters for the same panel height, as Q, K and V of an attention block are), or the op
  // itself when it packs its own. A reused scratch lives until its last reader.
  std::vector<std::size_t> panels_from;
  // Per op: an INT8 linear that writes its output requantized with these parameters, as its readers' activation
  // panels (kernels/quant.h layout, its own panel height), instead of FP32; its readers have input_panels set.
  std::vector<std::optional<quant::ActivationParams>> output_panels;
  std::vector<bool> input_panels;
  std::size_t arena_bytes = 0;

  std::size_t elements(std::size_t value) const;
};

// Micro-kernel panel heights the INT8 layers pack their inputs for (they size the layers' scratch).
struct PanelHeights {
  std::size_t sparse = 1;
  std::size_t dense = 1;
  std::size_t sparse_one_token = 1;  // a 1x4-block layer over one token (kernels::sparse_kernel(1, 1))
  std::size_t dense_one_token = 1;   // a dense layer over one token (kernels::dense_kernel(1))
};

// Throws BadInput when the shape does not fit the model (e.g. a sequence longer than its positions).
// keep_values: no buffer is reused, so every value can be read after a run (for debugging and tests).
Plan make_plan(const Model& model, std::size_t batch, std::size_t seq, PanelHeights mr, bool keep_values = false);

}  // namespace sparrow::engine
