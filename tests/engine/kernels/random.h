// Seeded generators for the kernel tests; every failure message carries the seed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

namespace sparrow::test {

class Rng {
 public:
  explicit Rng(std::uint64_t seed) : gen_(seed) {}
  // Uniform integer in [lo, hi].
  int uniform_int(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(gen_); }
  float uniform(float lo, float hi) { return std::uniform_real_distribution<float>(lo, hi)(gen_); }
  bool chance(double p) { return std::bernoulli_distribution(p)(gen_); }

 private:
  std::mt19937_64 gen_;
};

// count floats uniform in [lo, hi).
inline std::vector<float> random_vector(Rng& rng, std::size_t count, float lo, float hi) {
  std::vector<float> v(count);
  for (auto& x : v) x = rng.uniform(lo, hi);
  return v;
}

}  // namespace sparrow::test
