// Run-time dispatch: nested ISA masks, the SPARROW_MAX_ISA cap and the logged choice.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <string>
#include <vector>

#include "engine/kernels/isa.h"
#include "engine/kernels/linear.h"

namespace sk = sparrow::kernels;

namespace {
std::vector<std::string> g_messages;
void capture(const char* message) { g_messages.emplace_back(message); }
}  // namespace

TEST_CASE("ISA levels are nested and named", "[dispatch]") {
  for (sk::Isa isa : {sk::Isa::scalar, sk::Isa::avx2, sk::Isa::avx512skx, sk::Isa::avx512vnni}) {
    sk::Isa parsed{};
    REQUIRE(sk::parse_isa(sk::isa_name(isa), &parsed));
    REQUIRE(parsed == isa);
  }
  sk::Isa unused{};
  REQUIRE_FALSE(sk::parse_isa("avx9000", &unused));
  REQUIRE(sk::mayiuse(sk::Isa::scalar));
  if (sk::mayiuse(sk::Isa::avx512vnni)) REQUIRE(sk::mayiuse(sk::Isa::avx512skx));
  if (sk::mayiuse(sk::Isa::avx512skx)) REQUIRE(sk::mayiuse(sk::Isa::avx2));
}

TEST_CASE("SPARROW_MAX_ISA caps the chosen kernels, and the choice is logged", "[dispatch]") {
  const char* cap = std::getenv("SPARROW_MAX_ISA");
  sk::Isa want = sk::hardware_isa();
  if (cap != nullptr) {
    sk::Isa parsed{};
    REQUIRE(sk::parse_isa(cap, &parsed));
    // A cap above the hardware leaves the hardware level.
    if (sk::mayiuse(parsed) || sk::max_isa() == parsed) want = parsed;
  }
  REQUIRE(sk::max_isa() == want);
  sk::set_kernel_log(capture);
  const sk::SpmmB4Kernel& spmm = sk::spmm_b4_kernel();
  sk::set_kernel_log(nullptr);
  REQUIRE(sk::mayiuse(spmm.isa));
  // The first kernel of the table the capped CPU may use, i.e. the best one.
  for (const auto& k : sk::spmm_b4_kernels()) {
    if (sk::mayiuse(k.isa)) {
      REQUIRE(std::string(k.name) == spmm.name);
      break;
    }
  }
  if (!g_messages.empty()) REQUIRE(g_messages.front().find(spmm.name) != std::string::npos);
  REQUIRE(sk::mayiuse(sk::qgemm_kernel().isa));
  // Layers chain through activation panels: sparse and dense kernels must agree on the panel width.
  REQUIRE(sk::qgemm_kernel().mr == spmm.mr);
  REQUIRE(sk::mayiuse(sk::f32_gemm_kernel().isa));
  REQUIRE(sk::mayiuse(sk::qepilogue_kernel().isa));
}
