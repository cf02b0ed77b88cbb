// Emulation test only (tests/engine/CMakeLists.txt): the AVX-512 kernels are compiled against this header
// so that their AVX-512 intrinsics come from SIMDe's portable implementations, while everything up to
// AVX2 stays native. Lets the AVX-512 kernels be checked on CPUs without AVX-512.
#pragma once
#include_next <immintrin.h>
#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/x86/avx512.h>

#include <cmath>
#include <cstring>

// SIMDe 0.7.4 aliases these wrongly (madd) or not at all (the rest); the emu_ versions spell them out.
#undef _mm512_madd_epi16
#define _mm512_madd_epi16(a, b) simde_mm512_madd_epi16(a, b)
#define _mm512_shuffle_f32x4(a, b, imm) simde_mm512_shuffle_f32x4(a, b, imm)

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
inline simde__m512 emu_cvtepi32_ps(simde__m512i a) {
  int in[16];
  float out[16];
  std::memcpy(in, &a, 64);
  for (int i = 0; i < 16; ++i) out[i] = static_cast<float>(in[i]);
  return simde_mm512_loadu_ps(out);
}
inline simde__m512i emu_cvttps_epi32(simde__m512 a) {
  float in[16];
  int out[16];
  std::memcpy(in, &a, 64);
  for (int i = 0; i < 16; ++i) out[i] = in[i] != in[i] || in[i] >= 2147483648.0f || in[i] < -2147483648.0f
                                            ? static_cast<int>(0x80000000u) : static_cast<int>(in[i]);
  return simde_mm512_loadu_si512(out);
}
inline simde__m512i emu_cvtps_epi32(simde__m512 a) {
  float in[16];
  int out[16];
  std::memcpy(in, &a, 64);
  for (int i = 0; i < 16; ++i) out[i] = in[i] != in[i] || in[i] >= 2147483648.0f || in[i] < -2147483648.0f
                                            ? static_cast<int>(0x80000000u) : static_cast<int>(std::nearbyint(in[i]));
  return simde_mm512_loadu_si512(out);
}
inline __m128i emu_cvtepi32_epi8(simde__m512i a) {
  int in[16];
  unsigned char out[16];
  std::memcpy(in, &a, 64);
  for (int i = 0; i < 16; ++i) out[i] = static_cast<unsigned char>(in[i]);
  __m128i r;
  std::memcpy(&r, out, 16);
  return r;
}
inline simde__m512i emu_maskz_loadu_epi32(simde__mmask16 k, const void* p) {
  int v[16] = {};
  for (int i = 0; i < 16; ++i)
    if ((k >> i) & 1) std::memcpy(&v[i], static_cast<const int*>(p) + i, 4);
  return simde_mm512_loadu_si512(v);
}
inline void emu_mask_storeu_epi8_128(void* p, simde__mmask16 k, __m128i a) {
  unsigned char v[16];
  std::memcpy(v, &a, 16);
  for (int i = 0; i < 16; ++i)
    if ((k >> i) & 1) static_cast<unsigned char*>(p)[i] = v[i];
}
inline void emu_mask_storeu_epi8_512(void* p, simde__mmask64 k, simde__m512i a) {
  unsigned char v[64];
  std::memcpy(v, &a, 64);
  for (int i = 0; i < 64; ++i)
    if ((k >> i) & 1) static_cast<unsigned char*>(p)[i] = v[i];
}
#define _mm512_maskz_loadu_ps(k, p) emu_maskz_loadu_ps(k, p)
#define _mm512_cvttps_epi32(a) emu_cvttps_epi32(a)
#define _mm512_cvtps_epi32(a) emu_cvtps_epi32(a)
#define _mm512_cvtepi32_epi8(a) emu_cvtepi32_epi8(a)
#define _mm512_maskz_loadu_epi32(k, p) emu_maskz_loadu_epi32(k, p)
#define _mm_mask_storeu_epi8(p, k, a) emu_mask_storeu_epi8_128(p, k, a)
#define _mm512_mask_storeu_epi8(p, k, a) emu_mask_storeu_epi8_512(p, k, a)
#define _mm512_cvtepi32_ps(a) emu_cvtepi32_ps(a)
#define _mm512_mask_storeu_ps(p, k, a) emu_mask_storeu_ps(p, k, a)
#define _mm512_cvtepu8_epi16(a) emu_cvtepu8_epi16(a)
