// Emulation test only: force-included into the kernel test sources so that their `mayiuse(kernel.isa)`
// guard admits every kernel (the AVX-512 ones run emulated). The library keeps the real mayiuse, so
// dispatch still picks what the CPU can run.
#pragma once
#define mayiuse mayiuse_all_isas
