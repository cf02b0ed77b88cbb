#include "recipe/expression.h"

#include <cctype>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "recipe/diagnostics.h"

namespace sparrow::recipe {

std::string format_number(double v) {
  char buf[40];
  if (std::floor(v) == v && std::fabs(v) < 1e15) {  // integral: 10, not 1e+01
    std::snprintf(buf, sizeof buf, "%.0f", v);
    return buf;
  }
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

std::string Value::str() const {
  if (is_int_) return std::to_string(int_);
  std::string s = format_number(real_);
  if (std::isfinite(real_) && s.find_first_of(".e") == std::string::npos) s += ".0";
  return s;
}

std::optional<std::pair<std::string, size_t>> eval_body(const std::string& scalar) {
  size_t begin = 0;
  while (begin < scalar.size() && std::isspace(static_cast<unsigned char>(scalar[begin]))) ++begin;
  size_t end = scalar.size();
  while (end > begin && std::isspace(static_cast<unsigned char>(scalar[end - 1]))) --end;
  if (scalar.compare(begin, 5, "eval(") != 0 || end < begin + 6 || scalar[end - 1] != ')') return std::nullopt;
  return std::make_pair(scalar.substr(begin + 5, end - begin - 6), begin + 5);
}

namespace {

enum class Tok { Number, Name, Op, LParen, RParen, Comma, Bad, End };

struct Token {
  Tok kind;
  std::string text;
  size_t offset;
};

std::vector<Token> tokenize(const std::string& s) {
  std::vector<Token> out;
  size_t i = 0;
  while (i < s.size()) {
    const char c = s[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
    } else if (std::isdigit(static_cast<unsigned char>(c)) ||
               (c == '.' && i + 1 < s.size() && std::isdigit(static_cast<unsigned char>(s[i + 1])))) {
      const size_t start = i;
      while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
      if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
        size_t j = i + 1;
        if (j < s.size() && (s[j] == '+' || s[j] == '-')) ++j;
        if (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) {
          i = j;
          while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
        }
      }
      out.push_back({Tok::Number, s.substr(start, i - start), start});
    } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      const size_t start = i;
      while (i < s.size() && (std::isalnum(static_cast<unsigned char>(s[i])) || s[i] == '_')) ++i;
      out.push_back({Tok::Name, s.substr(start, i - start), start});
    } else if ((c == '*' || c == '/') && i + 1 < s.size() && s[i + 1] == c) {
      out.push_back({Tok::Op, s.substr(i, 2), i});
      i += 2;
    } else if (c == '+' || c == '-' || c == '*' || c == '/' || c == '%') {
      out.push_back({Tok::Op, std::string(1, c), i});
      ++i;
    } else if (c == '(' || c == ')' || c == ',') {
      out.push_back({c == '(' ? Tok::LParen : c == ')' ? Tok::RParen : Tok::Comma, std::string(1, c), i});
      ++i;
    } else {
      // Reported when the parser reaches it, so earlier mistakes come first.
      out.push_back({Tok::Bad, std::string(1, c), i});
      return out;
    }
  }
  out.push_back({Tok::End, "", s.size()});
  return out;
}

Value checked(double v, size_t offset) {
  if (!std::isfinite(v)) throw ExpressionError(offset, "the result is not a finite number");
  return Value::real(v);
}

Value int_result(bool overflow, int64_t v, size_t offset) {
  if (overflow) throw ExpressionError(offset, "integer overflow");
  return Value::integer(v);
}

Value power(const Value& a, const Value& b, size_t offset) {
  if (a.is_int() && b.is_int() && b.as_int() >= 0) {
    int64_t result = 1, base = a.as_int();
    for (int64_t e = b.as_int(); e > 0; e >>= 1) {
      if ((e & 1) && __builtin_mul_overflow(result, base, &result)) throw ExpressionError(offset, "integer overflow");
      if (e > 1 && __builtin_mul_overflow(base, base, &base)) throw ExpressionError(offset, "integer overflow");
    }
    return Value::integer(result);
  }
  if (a.as_double() == 0.0 && b.as_double() < 0) throw ExpressionError(offset, "zero to a negative power");
  if (a.as_double() < 0 && std::floor(b.as_double()) != b.as_double())
    throw ExpressionError(offset, "a negative number to a fractional power");
  return checked(std::pow(a.as_double(), b.as_double()), offset);
}

Value binary(const std::string& op, const Value& a, const Value& b, size_t offset) {
  const bool ints = a.is_int() && b.is_int();
  int64_t r = 0;
  bool overflow = false;
  if (op == "+") {
    if (!ints) return checked(a.as_double() + b.as_double(), offset);
    overflow = __builtin_add_overflow(a.as_int(), b.as_int(), &r);
    return int_result(overflow, r, offset);
  }
  if (op == "-") {
    if (!ints) return checked(a.as_double() - b.as_double(), offset);
    overflow = __builtin_sub_overflow(a.as_int(), b.as_int(), &r);
    return int_result(overflow, r, offset);
  }
  if (op == "*") {
    if (!ints) return checked(a.as_double() * b.as_double(), offset);
    overflow = __builtin_mul_overflow(a.as_int(), b.as_int(), &r);
    return int_result(overflow, r, offset);
  }
  if (op == "**") return power(a, b, offset);
  if (b.as_double() == 0.0) throw ExpressionError(offset, "division by zero");
  if (op == "/") return checked(a.as_double() / b.as_double(), offset);
  if (ints) {
    const int64_t x = a.as_int(), y = b.as_int();
    if (x == INT64_MIN && y == -1) throw ExpressionError(offset, "integer overflow");
    int64_t q = x / y, m = x % y;
    if (m != 0 && ((m < 0) != (y < 0))) {  // C++ truncates; Python floors
      --q;
      m += y;
    }
    return Value::integer(op == "//" ? q : m);
  }
  const double x = a.as_double(), y = b.as_double();
  const double q = std::floor(x / y);
  if (op == "//") return checked(q, offset);
  double m = std::fmod(x, y);
  if (m != 0 && ((m < 0) != (y < 0))) m += y;
  return checked(m, offset);
}

// Python's round(): half to even; with ndigits, a float.
Value round_value(const Value& x, std::optional<Value> ndigits, size_t offset) {
  if (!ndigits) {
    if (x.is_int()) return x;
    if (std::fabs(x.as_double()) >= 9.2e18) throw ExpressionError(offset, "integer overflow");  // as int() does
    return Value::integer(static_cast<int64_t>(std::nearbyint(x.as_double())));
  }
  if (!ndigits->is_int()) throw ExpressionError(offset, "round()'s second argument must be an integer");
  if (x.is_int() && ndigits->as_int() >= 0) return x;
  const double scale = std::pow(10.0, static_cast<double>(ndigits->as_int()));
  return checked(std::nearbyint(x.as_double() * scale) / scale, offset);
}

class Parser {
 public:
  Parser(const std::string& text, const VariableLookup& lookup) : tokens_(tokenize(text)), lookup_(lookup) {}

  Value parse() {
    if (peek().kind == Tok::End) throw ExpressionError(0, "empty expression");
    Value v = expr();
    if (peek().kind != Tok::End) unexpected();
    return v;
  }

 private:
  const Token& peek() const {
    const Token& t = tokens_[pos_];
    if (t.kind == Tok::Bad)
      throw ExpressionError(t.offset, "unexpected character '" + t.text +
                                          "'; eval() allows numbers, variables, + - * / // ** %, parentheses and "
                                          "abs float int min max round");
    return t;
  }
  const Token& next() {
    peek();
    return tokens_[pos_++];
  }
  bool at_op(const char* op) const { return peek().kind == Tok::Op && peek().text == op; }

  [[noreturn]] void unexpected() const {
    const Token& t = peek();
    if (t.kind == Tok::End) throw ExpressionError(t.offset, "unexpected end of expression");
    throw ExpressionError(t.offset, "unexpected '" + excerpt(t.text) + "'");
  }

  void expect(Tok kind, const char* what) {
    if (peek().kind != kind) {
      const Token& t = peek();
      throw ExpressionError(t.offset, std::string("expected ") + what + (t.kind == Tok::End ? " before the end" : " before '" + excerpt(t.text) + "'"));
    }
    ++pos_;
  }

  Value expr() {
    Value v = term();
    while (at_op("+") || at_op("-")) {
      const Token op = next();
      v = binary(op.text, v, term(), op.offset);
    }
    return v;
  }

  Value term() {
    Value v = unary();
    while (at_op("*") || at_op("/") || at_op("//") || at_op("%")) {
      const Token op = next();
      v = binary(op.text, v, unary(), op.offset);
    }
    return v;
  }

  // Bounds recursion, so a pathological expression is an error, not a crash.
  struct Depth {
    Parser& p;
    explicit Depth(Parser& parser, size_t offset) : p(parser) {
      if (++p.depth_ > 200) throw ExpressionError(offset, "expression nested too deeply");
    }
    ~Depth() { --p.depth_; }
  };

  Value unary() {
    const Depth guard(*this, peek().offset);
    if (at_op("-")) {
      const size_t offset = next().offset;
      const Value v = unary();
      if (!v.is_int()) return Value::real(-v.as_double());
      if (v.as_int() == INT64_MIN) throw ExpressionError(offset, "integer overflow");  // checked before negating it
      return Value::integer(-v.as_int());
    }
    return power_expr();
  }

  Value power_expr() {
    const Value base = atom();
    if (!at_op("**")) return base;
    const size_t offset = next().offset;
    return power(base, unary(), offset);
  }

  Value atom() {
    const Token t = peek();
    switch (t.kind) {
      case Tok::Number: return number(next());
      case Tok::LParen: {
        ++pos_;
        Value v = expr();
        expect(Tok::RParen, "')'");
        return v;
      }
      case Tok::Name:
        ++pos_;
        if (peek().kind == Tok::LParen) return call(t);
        return lookup_(t.text, t.offset);
      default: unexpected();
    }
  }

  static Value number(const Token& t) {
    if (t.text.find_first_of(".eE") == std::string::npos) {
      errno = 0;
      const long long v = std::strtoll(t.text.c_str(), nullptr, 10);
      if (errno == ERANGE) throw ExpressionError(t.offset, "integer overflow");
      return Value::integer(v);
    }
    char* end = nullptr;
    const double v = std::strtod(t.text.c_str(), &end);
    if (end != t.text.c_str() + t.text.size()) throw ExpressionError(t.offset, "malformed number '" + excerpt(t.text) + "'");
    return checked(v, t.offset);
  }

  Value call(const Token& name) {
    static const char* const kFunctions[] = {"abs", "float", "int", "min", "max", "round"};
    bool known = false;
    for (const char* f : kFunctions) known = known || name.text == f;
    if (!known)
      throw ExpressionError(name.offset, "unknown function '" + excerpt(name.text) +
                                             "'; eval() allows only abs, float, int, min, max and round");
    expect(Tok::LParen, "'('");
    std::vector<Value> args;
    if (peek().kind != Tok::RParen) {
      args.push_back(expr());
      while (peek().kind == Tok::Comma) {
        ++pos_;
        args.push_back(expr());
      }
    }
    expect(Tok::RParen, "')'");
    const std::string& f = name.text;
    const auto arity = [&](size_t lo, size_t hi) {
      if (args.size() < lo || args.size() > hi)
        throw ExpressionError(name.offset, f + "() takes " +
                                               (lo == hi ? std::to_string(lo) : std::to_string(lo) + " to " + std::to_string(hi)) +
                                               " argument" + (hi == 1 ? "" : "s") + ", got " + std::to_string(args.size()));
    };
    if (f == "min" || f == "max") {
      if (args.size() < 2) throw ExpressionError(name.offset, f + "() needs at least 2 arguments");
      Value best = args[0];
      for (const Value& a : args)
        if (f == "min" ? a.as_double() < best.as_double() : a.as_double() > best.as_double()) best = a;
      return best;
    }
    if (f == "round") {
      arity(1, 2);
      return round_value(args[0], args.size() == 2 ? std::optional<Value>(args[1]) : std::nullopt, name.offset);
    }
    arity(1, 1);
    const Value& x = args[0];
    if (f == "abs") {
      if (!x.is_int()) return Value::real(std::fabs(x.as_double()));
      if (x.as_int() == INT64_MIN) throw ExpressionError(name.offset, "integer overflow");
      return Value::integer(std::llabs(x.as_int()));
    }
    if (f == "float") return Value::real(x.as_double());
    if (x.is_int()) return x;
    if (std::fabs(x.as_double()) >= 9.2e18) throw ExpressionError(name.offset, "integer overflow");
    return Value::integer(static_cast<int64_t>(std::trunc(x.as_double())));
  }

  std::vector<Token> tokens_;
  size_t pos_ = 0;
  int depth_ = 0;
  const VariableLookup& lookup_;
};

}  // namespace

Value evaluate_expression(const std::string& text, const VariableLookup& lookup) {
  return Parser(text, lookup).parse();
}

}  // namespace sparrow::recipe
