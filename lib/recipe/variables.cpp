#include "recipe/variables.h"

#include <algorithm>
#include <cmath>

namespace sparrow::recipe {

namespace {
// Thrown through the expression parser when the error is already recorded
// (a broken variable), so that one mistake gives one message.
struct AlreadyReported {};

// A quoted scalar's text starts one column after its mark.
size_t quote_offset(const YAML::Node& scalar) { return scalar.Tag() == "!" ? 1 : 0; }

std::optional<Value> plain_number(const YAML::Node& n) {
  if (!n.IsScalar()) return std::nullopt;
  int64_t i;
  if (YAML::convert<int64_t>::decode(n, i)) return Value::integer(i);
  double d;
  if (YAML::convert<double>::decode(n, d) && std::isfinite(d)) return Value::real(d);
  return std::nullopt;
}

}  // namespace

void Scope::define(const std::string& name, const YAML::Node& node) {
  if (!vars_.count(name)) order_.push_back(name);
  Var var;
  var.node = node;
  vars_[name] = var;
}

bool Scope::is_eval(const YAML::Node& scalar) { return scalar.IsScalar() && eval_body(scalar.Scalar()).has_value(); }

void Scope::evaluate_all() const {
  for (const auto& name : order_)
    if (is_eval(vars_.at(name).node)) evaluate(name);
}

std::vector<std::string> Scope::visible_names() const {
  std::vector<std::string> names = order_;
  if (parent_) {
    const auto more = parent_->visible_names();
    names.insert(names.end(), more.begin(), more.end());
  }
  return names;
}

std::optional<Value> Scope::evaluate(const std::string& name) const {
  Var& var = vars_.at(name);
  if (var.state == Var::State::Done || var.state == Var::State::Failed) return var.value;
  if (!is_eval(var.node)) {
    var.value = plain_number(var.node);
    var.state = Var::State::Done;
    return var.value;
  }
  var.state = Var::State::Evaluating;
  evaluating_.push_back(name);
  var.value = evaluate_eval(var.node);
  evaluating_.pop_back();
  var.state = var.value ? Var::State::Done : Var::State::Failed;
  return var.value;
}

Value Scope::lookup(const std::string& name, size_t offset, const Scope& origin) const {
  const auto it = vars_.find(name);
  if (it == vars_.end()) {
    if (parent_) return parent_->lookup(name, offset, origin);
    throw ExpressionError(offset, "unknown variable '" + excerpt(name) + "'" + did_you_mean(name, origin.visible_names()));
  }
  if (it->second.state == Var::State::Evaluating) {
    std::string chain;
    const auto first = std::find(evaluating_.begin(), evaluating_.end(), name);
    for (auto v = first; v != evaluating_.end(); ++v) chain += *v + " -> ";
    throw ExpressionError(offset, "variable cycle: " + chain + name);
  }
  const std::optional<Value> v = evaluate(name);
  if (it->second.state == Var::State::Failed) throw AlreadyReported{};
  if (!v && source_.is_override(it->second.node)) {
    // A flag's value: one error at the flag, not one per expression that uses it.
    diag_.error(source_.where(it->second.node) + ": variable '" + name + "' must be a number (eval(...) uses it), got " +
                describe_node(it->second.node));
    it->second.state = Var::State::Failed;
    throw AlreadyReported{};
  }
  if (!v)
    throw ExpressionError(offset, "variable '" + name + "' is not a number (it is " + describe_node(it->second.node) + ")");
  return *v;
}

std::optional<Value> Scope::evaluate_eval(const YAML::Node& scalar) const {
  const auto body = eval_body(scalar.Scalar());
  try {
    return evaluate_expression(body->first, [&](const std::string& name, size_t offset) {
      return lookup(name, offset, *this);
    });
  } catch (const ExpressionError& e) {
    diag_.error(source_.where(scalar, quote_offset(scalar) + body->second + e.offset()) + ": in " +
                excerpt(scalar.Scalar()) + ": " + e.what());
  } catch (const AlreadyReported&) {
  }
  return std::nullopt;
}

std::optional<Value> Scope::number(const YAML::Node& scalar, const std::string& field) const {
  if (is_eval(scalar)) return evaluate_eval(scalar);
  if (auto v = plain_number(scalar)) return v;
  diag_.error(source_.where(scalar) + ": field '" + field + "' must be a number, got " + describe_node(scalar));
  return std::nullopt;
}

}  // namespace sparrow::recipe
