// AVX2 peak loops in asm: with intrinsics GCC 12 spills some chains to the stack, which measures
// store forwarding instead of the multipliers. Each loop trip runs independent chains only.
#include <cstdint>

#include "peak.h"

namespace sparrow::bench {

volatile std::int64_t g_peak_sink = 0;

double peak_vpmaddubsw_ymm(std::int64_t iterations) {
  std::int64_t n = iterations;
  __asm__ volatile(
      "vpcmpeqw %%ymm15, %%ymm15, %%ymm15\n\t"
      "vpsrlw $15, %%ymm15, %%ymm15\n\t"  // ones (INT16)
      "vpcmpeqb %%ymm14, %%ymm14, %%ymm14\n\t"
      "vpabsb %%ymm14, %%ymm13\n\t"       // x = 1 (UINT8), w = -1 (INT8)
      "vpxor %%ymm0, %%ymm0, %%ymm0\n\t"
      "vpxor %%ymm1, %%ymm1, %%ymm1\n\t"
      "vpxor %%ymm2, %%ymm2, %%ymm2\n\t"
      "vpxor %%ymm3, %%ymm3, %%ymm3\n\t"
      "vpxor %%ymm4, %%ymm4, %%ymm4\n\t"
      "vpxor %%ymm5, %%ymm5, %%ymm5\n\t"
      "1:\n\t"
      "vpmaddubsw %%ymm14, %%ymm13, %%ymm8\n\t"
      "vpmaddubsw %%ymm14, %%ymm13, %%ymm9\n\t"
      "vpmaddubsw %%ymm14, %%ymm13, %%ymm10\n\t"
      "vpmaddwd %%ymm15, %%ymm8, %%ymm8\n\t"
      "vpmaddwd %%ymm15, %%ymm9, %%ymm9\n\t"
      "vpmaddwd %%ymm15, %%ymm10, %%ymm10\n\t"
      "vpaddd %%ymm8, %%ymm0, %%ymm0\n\t"
      "vpaddd %%ymm9, %%ymm1, %%ymm1\n\t"
      "vpaddd %%ymm10, %%ymm2, %%ymm2\n\t"
      "vpmaddubsw %%ymm14, %%ymm13, %%ymm11\n\t"
      "vpmaddubsw %%ymm14, %%ymm13, %%ymm12\n\t"
      "vpmaddubsw %%ymm14, %%ymm13, %%ymm7\n\t"
      "vpmaddwd %%ymm15, %%ymm11, %%ymm11\n\t"
      "vpmaddwd %%ymm15, %%ymm12, %%ymm12\n\t"
      "vpmaddwd %%ymm15, %%ymm7, %%ymm7\n\t"
      "vpaddd %%ymm11, %%ymm3, %%ymm3\n\t"
      "vpaddd %%ymm12, %%ymm4, %%ymm4\n\t"
      "vpaddd %%ymm7, %%ymm5, %%ymm5\n\t"
      "dec %[n]\n\t"
      "jnz 1b\n\t"
      "vmovq %%xmm0, %[n]"
      : [n] "+r"(n)
      :
      : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12",
        "xmm13", "xmm14", "xmm15", "cc");
  g_peak_sink = n;
  return 2.0 * 32 * 6 * static_cast<double>(iterations);
}

double peak_vpmaddwd_ymm(std::int64_t iterations) {
  std::int64_t n = iterations;
  __asm__ volatile(
      "vpcmpeqw %%ymm15, %%ymm15, %%ymm15\n\t"
      "vpxor %%ymm0, %%ymm0, %%ymm0\n\t"
      "vpxor %%ymm1, %%ymm1, %%ymm1\n\t"
      "vpxor %%ymm2, %%ymm2, %%ymm2\n\t"
      "vpxor %%ymm3, %%ymm3, %%ymm3\n\t"
      "vpxor %%ymm4, %%ymm4, %%ymm4\n\t"
      "vpxor %%ymm5, %%ymm5, %%ymm5\n\t"
      "vpxor %%ymm6, %%ymm6, %%ymm6\n\t"
      "vpxor %%ymm7, %%ymm7, %%ymm7\n\t"
      "1:\n\t"
      "vpmaddwd %%ymm15, %%ymm14, %%ymm8\n\t"
      "vpmaddwd %%ymm15, %%ymm14, %%ymm9\n\t"
      "vpmaddwd %%ymm15, %%ymm14, %%ymm10\n\t"
      "vpmaddwd %%ymm15, %%ymm14, %%ymm11\n\t"
      "vpaddd %%ymm8, %%ymm0, %%ymm0\n\t"
      "vpaddd %%ymm9, %%ymm1, %%ymm1\n\t"
      "vpaddd %%ymm10, %%ymm2, %%ymm2\n\t"
      "vpaddd %%ymm11, %%ymm3, %%ymm3\n\t"
      "vpmaddwd %%ymm15, %%ymm14, %%ymm8\n\t"
      "vpmaddwd %%ymm15, %%ymm14, %%ymm9\n\t"
      "vpmaddwd %%ymm15, %%ymm14, %%ymm10\n\t"
      "vpmaddwd %%ymm15, %%ymm14, %%ymm11\n\t"
      "vpaddd %%ymm8, %%ymm4, %%ymm4\n\t"
      "vpaddd %%ymm9, %%ymm5, %%ymm5\n\t"
      "vpaddd %%ymm10, %%ymm6, %%ymm6\n\t"
      "vpaddd %%ymm11, %%ymm7, %%ymm7\n\t"
      "dec %[n]\n\t"
      "jnz 1b\n\t"
      "vmovq %%xmm0, %[n]"
      : [n] "+r"(n)
      :
      : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11",
        "xmm14", "xmm15", "cc");
  g_peak_sink = n;
  return 2.0 * 16 * 8 * static_cast<double>(iterations);
}

double peak_fma_ymm(std::int64_t iterations) {
  std::int64_t n = iterations;
  __asm__ volatile(
      "vxorps %%ymm0, %%ymm0, %%ymm0\n\t"
      "vxorps %%ymm1, %%ymm1, %%ymm1\n\t"
      "vxorps %%ymm2, %%ymm2, %%ymm2\n\t"
      "vxorps %%ymm3, %%ymm3, %%ymm3\n\t"
      "vxorps %%ymm4, %%ymm4, %%ymm4\n\t"
      "vxorps %%ymm5, %%ymm5, %%ymm5\n\t"
      "vxorps %%ymm6, %%ymm6, %%ymm6\n\t"
      "vxorps %%ymm7, %%ymm7, %%ymm7\n\t"
      "vxorps %%ymm8, %%ymm8, %%ymm8\n\t"
      "vxorps %%ymm9, %%ymm9, %%ymm9\n\t"
      "vxorps %%ymm10, %%ymm10, %%ymm10\n\t"
      "vxorps %%ymm11, %%ymm11, %%ymm11\n\t"
      "vxorps %%ymm14, %%ymm14, %%ymm14\n\t"
      "vxorps %%ymm15, %%ymm15, %%ymm15\n\t"
      "1:\n\t"
      "vfmadd231ps %%ymm15, %%ymm14, %%ymm0\n\t"
      "vfmadd231ps %%ymm15, %%ymm14, %%ymm1\n\t"
      "vfmadd231ps %%ymm15, %%ymm14, %%ymm2\n\t"
      "vfmadd231ps %%ymm15, %%ymm14, %%ymm3\n\t"
      "vfmadd231ps %%ymm15, %%ymm14, %%ymm4\n\t"
      "vfmadd231ps %%ymm15, %%ymm14, %%ymm5\n\t"
      "vfmadd231ps %%ymm15, %%ymm14, %%ymm6\n\t"
      "vfmadd231ps %%ymm15, %%ymm14, %%ymm7\n\t"
      "vfmadd231ps %%ymm15, %%ymm14, %%ymm8\n\t"
      "vfmadd231ps %%ymm15, %%ymm14, %%ymm9\n\t"
      "vfmadd231ps %%ymm15, %%ymm14, %%ymm10\n\t"
      "vfmadd231ps %%ymm15, %%ymm14, %%ymm11\n\t"
      "dec %[n]\n\t"
      "jnz 1b\n\t"
      "vmovq %%xmm0, %[n]"
      : [n] "+r"(n)
      :
      : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11",
        "xmm14", "xmm15", "cc");
  g_peak_sink = n;
  return 2.0 * 8 * 12 * static_cast<double>(iterations);
}

}  // namespace sparrow::bench
