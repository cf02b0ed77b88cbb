// Instruction-set levels the kernels are built for, as nested masks (oneDNN style):
// every level contains the ones below it, so `mayiuse(Isa::avx2)` holds on an AVX-512 machine.
#pragma once

#include <cstdint>

namespace sparrow::kernels {

enum class Isa : std::uint32_t {
  scalar = 0,
  avx2 = 1u << 0,                     // AVX2 + FMA
  avx512skx = avx2 | 1u << 1,         // AVX-512 F/BW/VL/DQ
  avx512vnni = avx512skx | 1u << 2,   // + AVX512_VNNI (vpdpbusd)
};

// Best ISA of this CPU and OS (CPUID + XCR0), capped by SPARROW_MAX_ISA
// (scalar|avx2|avx512skx|avx512vnni) read once at first use.
Isa max_isa();
// What the hardware offers, ignoring the cap.
Isa hardware_isa();
bool mayiuse(Isa isa);
const char* isa_name(Isa isa);
// Parses an ISA token; returns false on an unknown name.
bool parse_isa(const char* name, Isa* out);

}  // namespace sparrow::kernels
