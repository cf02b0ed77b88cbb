// The INT8 and FP32 kernel tests again, with mayiuse() admitting every ISA (all_isas.h), for the
// emulated AVX-512 build of the kernels.
#include "emulation/all_isas.h"

#include "kernels/test_epilogue.cpp"
#include "kernels/test_f32_gemm.cpp"
#include "kernels/test_qlinear.cpp"
#include "kernels/test_attention_qu8.cpp"
