// eval(...) arithmetic: Python's operators and precedence, int vs float, the
// six functions, and errors that point at the offending character.
#include <catch2/catch.hpp>

#include <map>

#include "recipe/expression.h"

using sparrow::recipe::evaluate_expression;
using sparrow::recipe::ExpressionError;
using sparrow::recipe::Value;

namespace {

Value eval(const std::string& text, const std::map<std::string, Value>& vars = {}) {
  return evaluate_expression(text, [&](const std::string& name, size_t offset) {
    const auto it = vars.find(name);
    if (it == vars.end()) throw ExpressionError(offset, "unknown variable '" + name + "'");
    return it->second;
  });
}

double real(const std::string& text) {
  const Value v = eval(text);
  REQUIRE_FALSE(v.is_int());
  return v.as_double();
}

int64_t integer(const std::string& text) {
  const Value v = eval(text);
  REQUIRE(v.is_int());
  return v.as_int();
}

// The offset and message of the error `text` raises.
std::pair<size_t, std::string> failure(const std::string& text) {
  try {
    eval(text);
  } catch (const ExpressionError& e) {
    return {e.offset(), e.what()};
  }
  FAIL("no error for " << text);
  return {};
}

}  // namespace

TEST_CASE("expression: integer arithmetic stays integral", "[recipe][expression]") {
  CHECK(integer("1 + 2 * 3") == 7);
  CHECK(integer("(1 + 2) * 3") == 9);
  CHECK(integer("10 - 4 - 3") == 3);  // left associative
  CHECK(integer("2 ** 10") == 1024);
  CHECK(integer("2 ** 3 ** 2") == 512);  // right associative
  CHECK(integer("-2 ** 2") == -4);       // ** binds tighter than unary minus
  CHECK(integer("--3") == 3);
  CHECK(integer("7 // 2") == 3);
  CHECK(integer("-7 // 2") == -4);  // floors, as Python
  CHECK(integer("-7 % 3") == 2);    // divisor's sign, as Python
  CHECK(integer("7 % -3") == -2);
}

TEST_CASE("expression: floats follow Python", "[recipe][expression]") {
  CHECK(real("7 / 2") == 3.5);
  CHECK(real("8 / 2") == 4.0);  // '/' always gives a float
  CHECK(real("2 ** -1") == 0.5);
  CHECK(real("7.5 // 2") == 3.0);
  CHECK(real("-7.5 % 2") == Approx(0.5));
  CHECK(real("1e-3 * 2") == Approx(0.002));
  CHECK(real(".5 + 1.") == 1.5);
  CHECK(real("0.1 + 0.2") == Approx(0.3));
}

TEST_CASE("expression: functions", "[recipe][expression]") {
  CHECK(integer("abs(-3)") == 3);
  CHECK(real("abs(-2.5)") == 2.5);
  CHECK(real("float(3)") == 3.0);
  CHECK(integer("int(2.9)") == 2);
  CHECK(integer("int(-2.9)") == -2);  // truncates toward zero
  CHECK(integer("min(3, 1, 2)") == 1);
  CHECK(real("max(1, 2.5)") == 2.5);
  CHECK(integer("round(2.5)") == 2);  // half to even
  CHECK(integer("round(3.5)") == 4);
  CHECK(real("round(0.123456, 3)") == Approx(0.123));
}

TEST_CASE("expression: variables", "[recipe][expression]") {
  const std::map<std::string, Value> vars = {{"num_epochs", Value::integer(10)}, {"frac", Value::real(0.25)}};
  CHECK(eval("num_epochs - 2", vars).as_int() == 8);
  CHECK(eval("num_epochs * frac", vars).as_double() == 2.5);
  CHECK(eval("max(num_epochs // 3, 1)", vars).as_int() == 3);
}

TEST_CASE("expression: errors point at the offending character", "[recipe][expression]") {
  CHECK(failure("1 +") == std::make_pair(size_t{3}, std::string("unexpected end of expression")));
  CHECK(failure("2 * * 3").first == 4);
  CHECK(failure("(1 + 2").second == "expected ')' before the end");
  CHECK(failure("1 / 0") == std::make_pair(size_t{2}, std::string("division by zero")));
  CHECK(failure("5 // 0").second == "division by zero");
  CHECK(failure("5 % 0.0").second == "division by zero");
  CHECK(failure("1 + foo").first == 4);
  CHECK(failure("").second == "empty expression");
  CHECK(failure("(-8) ** 0.5").second == "a negative number to a fractional power");
  CHECK(failure("2 ** 100").second == "integer overflow");
  // Found by tests/fuzz (fuzz_expression): negating INT64_MIN and casting a huge float were undefined.
  CHECK(failure("-(-9223372036854775807 - 1)").second == "integer overflow");
  CHECK(failure("abs(-9223372036854775807 - 1)").second == "integer overflow");
  CHECK(failure("round(1e19)").second == "integer overflow");
  CHECK(failure("min(1)").second == "min() needs at least 2 arguments");
  CHECK(failure("abs(1, 2)").second == "abs() takes 1 argument, got 2");
  CHECK(failure("round(1, 2, 3)").second == "round() takes 1 to 2 arguments, got 3");
}

TEST_CASE("expression: nothing but arithmetic runs", "[recipe][expression]") {
  const auto import = failure("__import__('os')");
  CHECK(import.first == 0);
  CHECK(import.second == "unknown function '__import__'; eval() allows only abs, float, int, min, max and round");
  CHECK(failure("pow(2, 3)").second.find("unknown function 'pow'") == 0);
  CHECK(failure("'a' * 3").second.find("unexpected character '''") == 0);
  CHECK(failure("a.b").first == 1);
  CHECK(failure("1 if 1 else 2").second == "unexpected 'if'");
  CHECK(failure("+1").second == "unexpected '+'");  // unary plus is not in the language
  CHECK(failure("[1]").first == 0);
  CHECK(failure("2 < 3").first == 2);
  CHECK(failure(std::string(100000, '(') + "1" + std::string(100000, ')')).second == "expression nested too deeply");
  CHECK(failure(std::string(100000, '-') + "1").second == "expression nested too deeply");
  CHECK(integer(std::string(50, '(') + "1" + std::string(50, ')')) == 1);
}

TEST_CASE("expression: eval body and number formatting", "[recipe][expression]") {
  using sparrow::recipe::eval_body;
  using sparrow::recipe::format_number;
  const auto body = eval_body("  eval(a + 1) ");
  REQUIRE(body);
  CHECK(body->first == "a + 1");
  CHECK(body->second == 7);
  CHECK_FALSE(eval_body("evaluate(1)"));
  CHECK_FALSE(eval_body("eval(1"));
  CHECK(format_number(0.9) == "0.9");
  CHECK(format_number(1e-5) == "1e-05");
  CHECK(Value::real(5.0).str() == "5.0");
  CHECK(Value::integer(5).str() == "5");
}
