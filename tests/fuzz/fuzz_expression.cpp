// Fuzz target for the recipe's eval(...) arithmetic alone (tests/fuzz/CMakeLists.txt; docs/fuzzing.md).
// Any text must evaluate or be rejected with an ExpressionError; a finite real result must print as text
// that reads back as the same double.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <stdexcept>
#include <string>

#include "recipe/expression.h"

namespace {

// Variables a recipe might define, with the extremes the arithmetic must survive.
sparrow::recipe::Value lookup(const std::string& name, std::size_t offset) {
  using sparrow::recipe::Value;
  if (name == "n") return Value::integer(3);
  if (name == "x") return Value::real(0.25);
  if (name == "big") return Value::integer(std::numeric_limits<int64_t>::max());
  if (name == "small") return Value::integer(std::numeric_limits<int64_t>::min());
  if (name == "huge") return Value::real(1e308);
  if (name == "tiny") return Value::real(5e-324);
  throw sparrow::recipe::ExpressionError(offset, "unknown variable '" + name + "'");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace sparrow::recipe;
  const std::string text(reinterpret_cast<const char*>(data), size);
  (void)eval_body(text);
  try {
    const Value v = evaluate_expression(text, lookup);
    (void)v.str();
    if (!v.is_int() && std::isfinite(v.as_double())) {
      const std::string printed = format_number(v.as_double());
      if (std::strtod(printed.c_str(), nullptr) != v.as_double())
        throw std::logic_error("format_number(" + printed + ") does not read back as the same double");
    }
  } catch (const ExpressionError&) {
  }
  return 0;
}
