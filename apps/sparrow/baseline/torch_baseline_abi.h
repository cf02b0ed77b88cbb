// The C interface between `sparrow bench --compare` and the LibTorch baseline plug-in
// (libsparrow_torch_baseline.so), so that the sparrow binary itself links no LibTorch: the binary opens the
// plug-in with dlopen when --compare asks for it (apps/sparrow/torch_baseline.cpp) and the baselines run in
// the same process, in rounds interleaved with the engine's. Plain C types only; no exception crosses it.
#pragma once

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

// Raised whenever a function below changes; the binary refuses a plug-in of another version.
// 2: sparrow_baseline_create takes a precision; sparrow_baseline_configuration describes one baseline.
// 3: causal LMs: sparrow_baseline_run is a prefill into a KV cache; sparrow_baseline_decode continues it.
#define SPARROW_BASELINE_ABI_VERSION 3

// What the baseline's linear layers compute in (sparrow_baseline_create's `precision`).
// Dense FP32: every layer in FP32.
#define SPARROW_BASELINE_FP32 0
// LibTorch's dynamic INT8: every linear layer is quantized::linear_dynamic on INT8 weights (symmetric, per
// output channel) with its input quantized per call; every other layer in FP32 (baseline/dynamic_int8_linear.h).
#define SPARROW_BASELINE_DYNAMIC_INT8 1

// The plug-in exports exactly these functions (it is built with hidden visibility); the binary finds each with
// dlsym by its name. Results are the process exit codes (0 ok, 2 bad input, 3 internal error); on failure
// `error` holds a NUL-terminated message, cut to error_size bytes.
#define SPARROW_BASELINE_EXPORT __attribute__((visibility("default")))
typedef struct sparrow_baseline sparrow_baseline;

SPARROW_BASELINE_EXPORT int sparrow_baseline_abi_version(void);
// The zoo model the JSON text `model_config` describes (a .sparrow file's sparrow.model_config) with fresh
// weights (the same for every precision), computing in `precision` (SPARROW_BASELINE_*), and random inputs of
// batch x seq tokens (seq ignored for image models), built once. For a causal LM, seq is the prompt's length.
SPARROW_BASELINE_EXPORT int sparrow_baseline_create(const char* model_config, int precision, size_t batch, size_t seq,
                                                    sparrow_baseline** out, char* error, size_t error_size);
// One forward pass on `threads` intra-op threads. For a causal LM, the prefill of the prompt into a new KV
// cache, which the baseline keeps as its prompt state.
SPARROW_BASELINE_EXPORT int sparrow_baseline_run(sparrow_baseline* baseline, size_t threads, char* error, size_t error_size);
// A causal LM only: `tokens` greedy decoding steps of batch 1 through the model's own KV cache, each feeding
// back the last step's argmax, starting every call from the same prompt state (the last run's, or one run
// first). Exit code 2 for any other model.
SPARROW_BASELINE_EXPORT int sparrow_baseline_decode(sparrow_baseline* baseline, size_t threads, size_t tokens, char* error,
                                                    size_t error_size);
SPARROW_BASELINE_EXPORT void sparrow_baseline_destroy(sparrow_baseline* baseline);
// How LibTorch is set up for this baseline, for the report; valid until the baseline is destroyed.
SPARROW_BASELINE_EXPORT const char* sparrow_baseline_configuration(const sparrow_baseline* baseline);

#ifdef __cplusplus
}
#endif
