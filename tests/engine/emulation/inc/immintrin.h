// Emulation test only (tests/engine/CMakeLists.txt): the AVX-512 kernels are compiled against this header
// so that their AVX-512 intrinsics come from SIMDe's portable implementations, while everything up to
// AVX2 stays native. Lets the AVX-512 kernels be checked on CPUs without AVX-512.
#pragma once
#include_next <immintrin.h>
#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/x86/avx512.h>

#include <cstring>

// SIMDe 0.7.4 aliases these wrongly (madd) or not at all (the rest).
#undef _mm512_madd_epi16
#define _mm512_madd_epi16(a, b) simde_mm512_madd_epi16(a, b)

inline simde__m512 emu_maskz_loadu_ps(simde__mmask16 k, const void* p) {
  float v[16] = {};
  for (int i = 0; i < 16; ++i)
    if ((k >> i) & 1) std::memcpy(&v[i], static_cast<const float*>(p) + i, 4);
  return simde_mm512_loadu_ps(v);
}
inline void emu_mask_storeu_ps(void* p, simde__mmask16 k, simde__m512 a) {
  float v[16];
  simde_mm512_storeu_ps(v, a);
  for (int i = 0; i < 16; ++i)
    if ((k >> i) & 1) std::memcpy(static_cast<float*>(p) + i, &v[i], 4);
}
inline simde__m512i emu_cvtepu8_epi16(simde__m256i a) {
  unsigned char in[32];
  short out[32];
  std::memcpy(in, &a, 32);
  for (int i = 0; i < 32; ++i) out[i] = in[i];
  return simde_mm512_loadu_si512(out);
}
#define _mm512_maskz_loadu_ps(k, p) emu_maskz_loadu_ps(k, p)
#define _mm512_mask_storeu_ps(p, k, a) emu_mask_storeu_ps(p, k, a)
#define _mm512_cvtepu8_epi16(a) emu_cvtepu8_epi16(a)
