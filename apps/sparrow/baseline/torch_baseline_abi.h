// The C interface between `sparrow bench --compare` and the LibTorch baseline plug-in
// (libsparrow_torch_baseline.so), so that the sparrow binary itself links no LibTorch: the binary opens the
// plug-in with dlopen when --compare asks for it (apps/sparrow/torch_baseline.cpp) and the baseline runs in
// the same process, in rounds interleaved with the engine's. Plain C types only; no exception crosses it.
#pragma once

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

// Raised whenever a function below changes; the binary refuses a plug-in of another version.
#define SPARROW_BASELINE_ABI_VERSION 1

// The plug-in exports exactly these functions (it is built with hidden visibility); the binary finds each with
// dlsym by its name. Results are the process exit codes (0 ok, 2 bad input, 3 internal error); on failure
// `error` holds a NUL-terminated message, cut to error_size bytes.
#define SPARROW_BASELINE_EXPORT __attribute__((visibility("default")))
typedef struct sparrow_baseline sparrow_baseline;

SPARROW_BASELINE_EXPORT int sparrow_baseline_abi_version(void);
// The zoo model the JSON text `model_config` describes (a .sparrow file's sparrow.model_config) with fresh dense
// FP32 weights, and random inputs of batch x seq tokens (seq ignored for image models), built once.
SPARROW_BASELINE_EXPORT int sparrow_baseline_create(const char* model_config, size_t batch, size_t seq,
                                                    sparrow_baseline** out, char* error, size_t error_size);
// One forward pass on `threads` intra-op threads.
SPARROW_BASELINE_EXPORT int sparrow_baseline_run(sparrow_baseline* baseline, size_t threads, char* error, size_t error_size);
SPARROW_BASELINE_EXPORT void sparrow_baseline_destroy(sparrow_baseline* baseline);
// How LibTorch is set up, for the report (a static string).
SPARROW_BASELINE_EXPORT const char* sparrow_baseline_configuration(void);

#ifdef __cplusplus
}
#endif
