// Built WITHOUT ISA flags: it must run on any x86-64 to decide which kernels may run.
#include "engine/kernels/isa.h"

#include <cpuid.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <initializer_list>

namespace sparrow::kernels {
namespace {

std::uint64_t xgetbv0() {
  std::uint32_t lo = 0, hi = 0;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (std::uint64_t{hi} << 32) | lo;
}

Isa detect() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (__get_cpuid_max(0, nullptr) < 7) return Isa::scalar;
  __cpuid(1, a, b, c, d);
  const bool osxsave = (c >> 27) & 1, fma = (c >> 12) & 1, avx = (c >> 28) & 1;
  if (!osxsave || !avx || !fma) return Isa::scalar;
  const std::uint64_t xcr0 = xgetbv0();
  // The OS must save the YMM state (bits 1,2), and for AVX-512 also opmask/ZMM (bits 5,6,7).
  if ((xcr0 & 0x6) != 0x6) return Isa::scalar;
  __cpuid_count(7, 0, a, b, c, d);
  const bool avx2 = (b >> 5) & 1, bmi2 = (b >> 8) & 1;
  if (!avx2 || !bmi2) return Isa::scalar;
  const bool f = (b >> 16) & 1, dq = (b >> 17) & 1, bw = (b >> 30) & 1, vl = (b >> 31) & 1;
  const bool vnni = (c >> 11) & 1;
  if (!(f && dq && bw && vl) || (xcr0 & 0xE6) != 0xE6) return Isa::avx2;
  return vnni ? Isa::avx512vnni : Isa::avx512skx;
}

bool contains(Isa have, Isa want) {
  return (static_cast<std::uint32_t>(have) & static_cast<std::uint32_t>(want)) ==
         static_cast<std::uint32_t>(want);
}

Isa capped() {
  Isa isa = hardware_isa();
  if (const char* env = std::getenv("SPARROW_MAX_ISA"); env != nullptr && *env != '\0') {
    Isa cap{};
    if (!parse_isa(env, &cap)) {
      std::fprintf(stderr, "sparrow: ignoring unknown SPARROW_MAX_ISA=%s\n", env);
    } else if (contains(isa, cap)) {
      isa = cap;
    }
  }
  return isa;
}

}  // namespace

Isa hardware_isa() {
  static const Isa isa = detect();
  return isa;
}

Isa max_isa() {
  static const Isa isa = capped();
  return isa;
}

bool mayiuse(Isa isa) { return contains(max_isa(), isa); }

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::scalar: return "scalar";
    case Isa::avx2: return "avx2";
    case Isa::avx512skx: return "avx512skx";
    case Isa::avx512vnni: return "avx512vnni";
  }
  return "unknown";
}

bool parse_isa(const char* name, Isa* out) {
  for (Isa isa : {Isa::scalar, Isa::avx2, Isa::avx512skx, Isa::avx512vnni}) {
    if (std::strcmp(name, isa_name(isa)) == 0) {
      *out = isa;
      return true;
    }
  }
  return false;
}

}  // namespace sparrow::kernels
