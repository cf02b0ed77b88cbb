#pragma once
// Recipe variables: the top-level scalars of a recipe, and a stage's own
// scalars that override them inside the stage. A variable may itself be an
// eval(...) over other variables; each is evaluated once, cycles are errors.
#include <yaml-cpp/yaml.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "recipe/diagnostics.h"
#include "recipe/expression.h"

namespace sparrow::recipe {

class Scope {
 public:
  Scope(const Source& source, Diagnostics& diag, const Scope* parent = nullptr)
      : source_(source), diag_(diag), parent_(parent) {}
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;

  void define(const std::string& name, const YAML::Node& node);

  // Evaluates every variable defined here, so a broken one is reported even if unused.
  void evaluate_all() const;

  // The number in a scalar field: eval(...) over the variables in scope, or a
  // plain number. nullopt with an error recorded when it is neither.
  std::optional<Value> number(const YAML::Node& scalar, const std::string& field) const;

  // True when the scalar is an eval(...) expression.
  static bool is_eval(const YAML::Node& scalar);

 private:
  struct Var {
    YAML::Node node;
    enum class State { Pending, Evaluating, Done, Failed } state = State::Pending;
    std::optional<Value> value;
  };

  Value lookup(const std::string& name, size_t offset, const Scope& origin) const;
  std::optional<Value> evaluate(const std::string& name) const;
  std::optional<Value> evaluate_eval(const YAML::Node& scalar) const;
  std::vector<std::string> visible_names() const;

  const Source& source_;
  Diagnostics& diag_;
  const Scope* parent_;
  mutable std::map<std::string, Var> vars_;
  std::vector<std::string> order_;
  mutable std::vector<std::string> evaluating_;  // the chain, for cycle messages
};

}  // namespace sparrow::recipe
