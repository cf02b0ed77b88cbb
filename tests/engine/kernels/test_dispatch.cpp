// Run-time dispatch: nested ISA masks, the SPARROW_MAX_ISA cap and the logged choice.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <iterator>
#include <mutex>
#include <string>
#include <vector>

#include "engine/kernels/isa.h"
#include "engine/kernels/linear.h"
#include "engine/kernels/ops.h"

namespace sk = sparrow::kernels;

namespace {

// Every kernel choice of this process, captured from before main: each table's choice is made (and logged)
// once, by whichever test case needs it first, so the log is checked whatever ran before.
std::mutex g_mutex;
std::vector<std::string> g_messages;
void capture(const char* message) {
  const std::lock_guard<std::mutex> lock(g_mutex);
  g_messages.emplace_back(message);
}
[[maybe_unused]] const bool g_capturing = (sk::set_kernel_log(capture), true);

// The ISA levels in order, written out here rather than taken from the nested masks under test.
int rank(sk::Isa isa) {
  switch (isa) {
    case sk::Isa::scalar: return 0;
    case sk::Isa::avx2: return 1;
    case sk::Isa::avx512skx: return 2;
    case sk::Isa::avx512vnni: return 3;
  }
  return -1;
}

// `chosen` is the first kernel of `table` at or below `max`, and the log holds exactly one line for `what`,
// naming it, the cap and the kernels passed over.
template <class Kernel>
void check_choice(const char* what, const std::vector<Kernel>& table, const Kernel& chosen, sk::Isa max) {
  INFO(what << " kernel chosen under max ISA " << sk::isa_name(max));
  std::string skipped;
  const Kernel* best = nullptr;
  for (const Kernel& k : table) {
    if (rank(k.isa) <= rank(max)) {
      best = &k;
      break;
    }
    skipped += std::string(" ") + k.name;
  }
  REQUIRE(best != nullptr);
  REQUIRE(std::string(chosen.name) == best->name);
  const std::string want = std::string("using ") + what + " kernel '" + best->name + "' (max ISA " + sk::isa_name(max) +
                           ")" + (skipped.empty() ? "" : "; skipped" + skipped);
  std::vector<std::string> lines;
  {
    const std::lock_guard<std::mutex> lock(g_mutex);
    const std::string prefix = std::string("using ") + what + " kernel ";
    std::copy_if(g_messages.begin(), g_messages.end(), std::back_inserter(lines),
                 [&](const std::string& m) { return m.rfind(prefix, 0) == 0; });
  }
  REQUIRE(lines == std::vector<std::string>{want});
}

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

TEST_CASE("SPARROW_MAX_ISA caps the chosen kernels, and each choice is logged once", "[dispatch]") {
  const char* cap = std::getenv("SPARROW_MAX_ISA");
  sk::Isa want = sk::hardware_isa();
  if (cap != nullptr && *cap != '\0') {  // empty: no cap, as cpu_features.cpp reads it
    sk::Isa parsed{};
    REQUIRE(sk::parse_isa(cap, &parsed));
    // A cap above the hardware leaves the hardware level.
    if (rank(parsed) < rank(want)) want = parsed;
  }
  REQUIRE(sk::max_isa() == want);
  const sk::SpmmB4Kernel& spmm = sk::spmm_b4_kernel();
  check_choice("spmm-b4", sk::spmm_b4_kernels(), spmm, want);
  check_choice("dense INT8 GEMM", sk::qgemm_kernels(), sk::qgemm_kernel(), want);
  check_choice("FP32 GEMM", sk::f32_gemm_kernels(), sk::f32_gemm_kernel(), want);
  check_choice("INT8 epilogue", sk::qepilogue_kernels(), sk::qepilogue_kernel(), want);
  check_choice("GELU", sk::gelu_kernels(), sk::gelu_kernel(), want);
  // Layers chain through activation panels: sparse and dense kernels must agree on the panel width.
  REQUIRE(sk::qgemm_kernel().mr == spmm.mr);
}
