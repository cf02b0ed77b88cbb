// Tests that cannot run on this machine (a missing ISA, data set or tool) say so instead of passing.
//
// The rule (Catch2 v2 has no SKIP; this is Sparrow's):
// - A test case that calls skip() before it has checked anything, and then returns, is *skipped*.
// - A test case that checked something before or after calling skip() is *partly skipped*: it passes or
//   fails on what it checked, and its output ("partly skipped: ...") and the run's summary name what it
//   did not do. Split a test case per machine feature (one case per ISA, say) when a whole part may be
//   missing, so that the part shows as skipped rather than hiding in a pass.
// - A run in which every test case that ran was skipped exits with SPARROW_TEST_SKIP_CODE (77), which ctest
//   reports as "Skipped" (SKIP_RETURN_CODE, set by sparrow_add_test in tests/CMakeLists.txt). ctest runs
//   one test case per process, so each skipped case shows as Skipped; a run of several cases in which at
//   least one ran exits as Catch decides, with the skips in its summary.
#pragma once

#include <string>

namespace sparrow::testing {

// Records that the running test case cannot do its work here, and why; the caller returns right after.
void skip(const std::string& reason);

// The exit code of a finished run: Catch's `catch_result`, or SPARROW_TEST_SKIP_CODE when every test case
// that ran was skipped and none failed.
int exit_code_after_run(int catch_result);

}  // namespace sparrow::testing
