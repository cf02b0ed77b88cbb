#pragma once
// SparseML's eval(...) arithmetic, evaluated by Sparrow's own small parser so
// that no code ever runs from a recipe. Grammar (Python's precedence):
//   expr  := term (('+' | '-') term)*
//   term  := unary (('*' | '/' | '//' | '%') unary)*
//   unary := '-' unary | power
//   power := atom ('**' unary)?
//   atom  := NUMBER | NAME | FUNC '(' expr (',' expr)* ')' | '(' expr ')'
// FUNC is one of abs, float, int, min, max, round. Integers and floats follow
// Python: int op int stays int except '/', '//' floors, '%' takes the divisor's sign.
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>

namespace sparrow::recipe {

class Value {
 public:
  static Value integer(int64_t v) { return Value(true, v, static_cast<double>(v)); }
  static Value real(double v) { return Value(false, 0, v); }

  bool is_int() const { return is_int_; }
  int64_t as_int() const { return int_; }  // only meaningful when is_int()
  double as_double() const { return real_; }
  std::string str() const;  // as Python prints it: 3, 2.5, 1e-05

 private:
  Value(bool is_int, int64_t i, double d) : is_int_(is_int), int_(i), real_(d) {}
  bool is_int_;
  int64_t int_;
  double real_;
};

// A failure at `offset` (0-based, into the expression text).
class ExpressionError : public std::runtime_error {
 public:
  ExpressionError(size_t offset, const std::string& message) : std::runtime_error(message), offset_(offset) {}
  size_t offset() const { return offset_; }

 private:
  size_t offset_;
};

// Looks a variable up; throws ExpressionError (unknown name) or any other
// exception to abandon the evaluation.
using VariableLookup = std::function<Value(const std::string& name, size_t offset)>;

Value evaluate_expression(const std::string& text, const VariableLookup& lookup);

// The text between "eval(" and the final ")" when `scalar` is an eval
// expression, with the offset of that text inside `scalar`.
std::optional<std::pair<std::string, size_t>> eval_body(const std::string& scalar);

// Shortest text that reads back as the same double (0.9, not 0.90000000000000002).
std::string format_number(double v);

}  // namespace sparrow::recipe
