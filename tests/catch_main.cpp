// Catch's runner, with the exit code of support/skip.h: a run whose every test case was skipped says so.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include "support/skip.h"

int main(int argc, char* argv[]) { return sparrow::testing::exit_code_after_run(Catch::Session().run(argc, argv)); }
