#include "compress/distributed/sampler.h"

#include <stdexcept>

namespace sparrow::compress::distributed {

std::pair<int64_t, int64_t> shard_range(int64_t n, int world_size, int rank) {
  if (world_size < 1 || rank < 0 || rank >= world_size || n < 0)
    throw std::invalid_argument("shard_range: rank " + std::to_string(rank) + " of " + std::to_string(world_size) +
                                " over " + std::to_string(n) + " items");
  return {n * rank / world_size, n * (rank + 1) / world_size};
}

torch::Tensor shard(const torch::Tensor& indices, int world_size, int rank) {
  const auto [begin, end] = shard_range(indices.size(0), world_size, rank);
  return indices.slice(0, begin, end);
}

}  // namespace sparrow::compress::distributed
