// Register-only loops that measure this core's arithmetic peak in the same run as the kernels.
// Each returns the operations done (2 per multiply-add) for `iterations` loop trips.
#pragma once

#include <cstdint>

namespace sparrow::bench {

// Written with each loop's result so the compiler keeps the loop.
extern volatile std::int64_t g_peak_sink;

// 16 independent zmm vpdpbusd chains: 64 u8*s8 multiply-adds each. Needs AVX512_VNNI.
double peak_vpdpbusd_zmm(std::int64_t iterations);
// The AVX2 INT8 path of dense libraries without VNNI: vpmaddubsw + vpmaddwd + vpaddd, 32 multiply-adds
// per triple, 6 independent chains.
double peak_vpmaddubsw_ymm(std::int64_t iterations);
// vpmaddwd alone (16 multiply-adds per instruction), the multiply bound of Sparrow's exact AVX2 kernels.
double peak_vpmaddwd_ymm(std::int64_t iterations);
// Independent FMA chains (12 ymm, 16 zmm).
double peak_fma_ymm(std::int64_t iterations);
double peak_fma_zmm(std::int64_t iterations);  // needs AVX-512F

}  // namespace sparrow::bench
