#pragma once
// The distributed sampler. Every rank draws the same global batches (the
// trainer's seeded epoch order, reshuffled each epoch) and takes its own
// contiguous slice of each: slices are disjoint, cover the batch and differ
// in size by at most one, so the global batch is the recipe's batch size
// whatever the world size.
#include <torch/torch.h>

#include <cstdint>
#include <utility>

namespace sparrow::compress::distributed {

// [begin, end) of rank `rank`'s share of `n` items split over `world_size` ranks.
std::pair<int64_t, int64_t> shard_range(int64_t n, int world_size, int rank);

// Rank `rank`'s slice of a 1-D tensor of item indices.
torch::Tensor shard(const torch::Tensor& indices, int world_size, int rank);

}  // namespace sparrow::compress::distributed
