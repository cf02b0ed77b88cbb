// Kernel tests run as one Catch test case per ISA level (TEMPLATE_TEST_CASE over the tags below), so that
// a level this CPU lacks, or that SPARROW_MAX_ISA caps away, shows as a skipped test case (support/skip.h)
// instead of hiding inside a pass.
#pragma once

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "engine/kernels/isa.h"
#include "support/skip.h"

namespace sparrow::test::isa {
struct scalar {
  static constexpr kernels::Isa level = kernels::Isa::scalar;
};
struct avx2 {
  static constexpr kernels::Isa level = kernels::Isa::avx2;
};
struct avx512skx {
  static constexpr kernels::Isa level = kernels::Isa::avx512skx;
};
struct avx512vnni {
  static constexpr kernels::Isa level = kernels::Isa::avx512vnni;
};
}  // namespace sparrow::test::isa

namespace sparrow::test {

// The kernels of `table` built for `level`. When this CPU may not run `level`, none: the running test case
// is recorded as skipped, and the caller has nothing left to do. A table without a kernel at `level` fails
// the test case, which then names a level it would not test.
template <class Kernel>
std::vector<Kernel> kernels_at(kernels::Isa level, const std::vector<Kernel>& table) {
  if (!kernels::mayiuse(level)) {
    testing::skip(std::string("this CPU (max ISA ") + kernels::isa_name(kernels::max_isa()) + ") lacks " +
                  kernels::isa_name(level));
    return {};
  }
  std::vector<Kernel> at;
  for (const Kernel& k : table)
    if (k.isa == level) at.push_back(k);
  INFO("kernels at ISA " << kernels::isa_name(level));
  REQUIRE_FALSE(at.empty());
  return at;
}

// body(kernel) for each kernel of kernels_at(level, table), the kernel named in failure messages.
template <class Kernel, class Body>
void for_each_kernel_at(kernels::Isa level, const std::vector<Kernel>& table, Body body) {
  for (const Kernel& k : kernels_at(level, table)) {
    INFO("kernel " << k.name);
    body(k);
  }
}

// The table's scalar reference, its last entry.
template <class Kernel>
const Kernel& scalar_reference(const std::vector<Kernel>& table) {
  REQUIRE(table.back().isa == kernels::Isa::scalar);
  return table.back();
}

}  // namespace sparrow::test
