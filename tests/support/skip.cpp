// skip() and the Catch listener that turns recorded skips into "skipped", "partly skipped" and the run's exit
// code (the rule is in skip.h).
#define CATCH_CONFIG_EXTERNAL_INTERFACES
#include "support/skip.h"

#include <catch2/catch.hpp>

#include <iostream>
#include <vector>

namespace sparrow::testing {
namespace {

struct SkipRecord {
  std::vector<std::string> current;  // reasons given by the running test case
  std::size_t cases_run = 0;
  std::vector<std::string> skipped, partly_skipped;  // "test case: reason; reason"
};

SkipRecord& record() {
  static SkipRecord r;
  return r;
}

std::string describe(const std::string& test_case, const std::vector<std::string>& reasons) {
  std::string s = test_case + ":";
  for (std::size_t i = 0; i < reasons.size(); ++i) s += (i == 0 ? " " : "; ") + reasons[i];
  return s;
}

class SkipListener : public Catch::TestEventListenerBase {
 public:
  using TestEventListenerBase::TestEventListenerBase;

  void testCaseStarting(const Catch::TestCaseInfo& info) override {
    TestEventListenerBase::testCaseStarting(info);
    record().current.clear();
  }

  void testCaseEnded(const Catch::TestCaseStats& stats) override {
    SkipRecord& r = record();
    ++r.cases_run;
    if (!r.current.empty()) {
      const std::string line = describe(stats.testInfo.name, r.current);
      if (stats.totals.assertions.total() == 0) {
        r.skipped.push_back(line);
      } else {
        r.partly_skipped.push_back(line);
        std::cout << "partly skipped (passes or fails only on what it checked): " << line << std::endl;
      }
    }
    TestEventListenerBase::testCaseEnded(stats);
  }

  void testRunEnded(const Catch::TestRunStats& stats) override {
    const SkipRecord& r = record();
    if (!r.skipped.empty() || !r.partly_skipped.empty()) {
      std::cout << r.skipped.size() << " of " << r.cases_run << " test cases skipped, " << r.partly_skipped.size()
                << " partly skipped, on this machine:\n";
      for (const auto& line : r.skipped) std::cout << "  skipped: " << line << '\n';
      for (const auto& line : r.partly_skipped) std::cout << "  partly skipped: " << line << '\n';
      std::cout << std::flush;
    }
    TestEventListenerBase::testRunEnded(stats);
  }
};
CATCH_REGISTER_LISTENER(SkipListener)

}  // namespace

void skip(const std::string& reason) {
  WARN("skipped: " << reason);
  record().current.push_back(reason);
}

int exit_code_after_run(int catch_result) {
  const SkipRecord& r = record();
  const bool all_skipped = r.cases_run > 0 && r.skipped.size() == r.cases_run;
  return catch_result == 0 && all_skipped ? SPARROW_TEST_SKIP_CODE : catch_result;
}

}  // namespace sparrow::testing
