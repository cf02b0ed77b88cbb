// A causal LM's keys and values for the tokens it has run, as engine state rather than graph values (as
// llama.cpp keeps its cache in the context): one block per causal_attention op, [layers][kv_heads][context]
// [head_size] floats for the keys and as many for the values, allocated once for the whole context. `length`
// tokens (positions 0 .. length-1) are valid; the attention ops write the positions they run after them, and
// the decoder advances `length` once the whole graph has run.
#pragma once

#include <cstddef>
#include <vector>

namespace sparrow::engine {

struct KvCache {
  std::size_t layers = 0, kv_heads = 0, context = 0, head_size = 0;
  std::size_t length = 0;
  std::vector<float> keys, values;

  KvCache() = default;
  KvCache(std::size_t layers_, std::size_t kv_heads_, std::size_t context_, std::size_t head_size_)
      : layers(layers_), kv_heads(kv_heads_), context(context_), head_size(head_size_),
        keys(layers_ * kv_heads_ * context_ * head_size_), values(keys.size()) {}

  // Row of position 0 of (layer, kv head); positions follow each other head_size floats apart.
  std::size_t offset(std::size_t layer, std::size_t head) const { return (layer * kv_heads + head) * context * head_size; }
  std::size_t bytes() const { return (keys.size() + values.size()) * sizeof(float); }
};

}  // namespace sparrow::engine
