#include "compress/modifiers/structured_pruning_modifier.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <regex>
#include <set>

#include "compress/param_selection.h"
#include "core/errors.h"
#include "recipe/gmp_schedule.h"

namespace sparrow::compress {

namespace {

models::StructureKind kind_of(recipe::Structure s) {
  switch (s) {
    case recipe::Structure::Heads: return models::StructureKind::Heads;
    case recipe::Structure::Neurons: return models::StructureKind::Neurons;
    case recipe::Structure::Channels: return models::StructureKind::Channels;
    case recipe::Structure::Layers: return models::StructureKind::Layers;
  }
  return models::StructureKind::Heads;
}

const char* tag_of(recipe::Structure s) {
  switch (s) {
    case recipe::Structure::Heads: return "HeadPruningModifier";
    case recipe::Structure::Neurons: return "NeuronPruningModifier";
    case recipe::Structure::Channels: return "ChannelPruningModifier";
    case recipe::Structure::Layers: return "LayerPruningModifier";
  }
  return "";
}

bool matches(const std::string& name, const std::string& pattern) {
  if (pattern.rfind("re:", 0) == 0) return std::regex_match(name, std::regex(pattern.substr(3)));
  return name == pattern;
}

// Sum of `values` over each unit's part of one slice: [units].
torch::Tensor per_unit(const torch::Tensor& values, const models::UnitSlice& slice, int64_t units) {
  return values.transpose(0, slice.dim).contiguous().view({units, -1}).sum(1);
}

}  // namespace

StructuredPruningModifier::StructuredPruningModifier(const recipe::StructuredPruningParams& p, std::string location,
                                                     std::vector<std::string> layers)
    : Modifier(tag_of(p.structure), p.start_epoch, p.end_epoch, p.update_frequency),
      params_(p),
      location_(std::move(location)),
      layers_(std::move(layers)),
      kind_(kind_of(p.structure)) {}

std::vector<models::StructureGroup> StructuredPruningModifier::selected_groups(const models::Classifier& model) const {
  std::vector<models::StructureGroup> out;
  for (auto& g : model.structure_groups(kind_)) {
    bool hit = params_.modules.empty();
    for (const auto& pattern : params_.modules) hit = hit || matches(g.name, pattern);
    if (hit) out.push_back(std::move(g));
  }
  return out;
}

void StructuredPruningModifier::on_initialize(TrainState& state) {
  const auto all = state.model.structure_groups(kind_);
  if (all.empty())
    throw BadInput(location_ + ": !" + tag() + ": the model has no " + models::to_string(kind_) + " to remove");
  for (const auto& pattern : params_.modules) {
    bool hit = false;
    for (const auto& g : all) hit = hit || matches(g.name, pattern);
    if (!hit) {
      std::string list;
      for (const auto& g : all) list += " " + g.name;
      throw BadInput(location_ + ": modules pattern '" + pattern + "' matches no group of " + models::to_string(kind_) +
                     "; the model has:" + list);
    }
  }
  for (const auto& g : selected_groups(state.model)) original_units_[g.name] = g.units;
  const auto& layer_group = all.front();
  for (const auto& name : layers_) {
    bool known = false;
    for (int64_t u = 0; u < layer_group.units; ++u) known = known || name == layer_group.name + ".layer." + std::to_string(u);
    if (!known)
      throw BadInput(location_ + ": layer '" + name + "' is not one of " + layer_group.name + ".layer.0 .. " +
                     layer_group.name + ".layer." + std::to_string(layer_group.units - 1) +
                     " (whole encoder layers are what can be removed)");
  }
}

torch::Tensor StructuredPruningModifier::unit_scores(models::Classifier& model, const models::StructureGroup& group) const {
  torch::NoGradGuard no_grad;
  // Without gradients seen yet (an update at the first step), first-order falls back to magnitude.
  const bool first_order = params_.score == recipe::UnitScore::FirstOrder && !importance_.empty();
  const auto values = [&](const std::string& name) {
    return first_order ? importance_.at(name) : parameter(model, name).abs();
  };
  auto scores = torch::zeros({group.units}, torch::kFloat64);
  auto counts = torch::zeros({group.units}, torch::kFloat64);
  if (!group.unit_params.empty()) {
    for (int64_t u = 0; u < group.units; ++u)
      for (const auto& name : group.unit_params[static_cast<size_t>(u)]) {
        const auto v = values(name);
        scores[u] += v.sum().item<double>();
        counts[u] += static_cast<double>(v.numel());
      }
  } else {
    for (const auto& slice : group.slices) {
      const auto v = values(slice.param).to(torch::kFloat64);
      scores += per_unit(v, slice, group.units);
      counts += static_cast<double>(v.numel() / group.units);
    }
  }
  return scores / counts;
}

void StructuredPruningModifier::prune_to(TrainState& state, double fraction) {
  bool changed = false;
  for (const auto& group : selected_groups(state.model)) {
    const auto it = original_units_.find(group.name);
    if (it == original_units_.end()) continue;
    const int64_t original = it->second;
    // Round down so a group never loses more than asked, and keep one unit.
    const int64_t target = std::min(original - 1, static_cast<int64_t>(std::floor(fraction * static_cast<double>(original) + 1e-9)));
    const int64_t remove = target - (original - group.units);
    if (remove <= 0) continue;
    const auto order = std::get<1>(unit_scores(state.model, group).sort(/*stable=*/true, 0, false));
    std::vector<int64_t> units(order.data_ptr<int64_t>(), order.data_ptr<int64_t>() + remove);
    std::sort(units.begin(), units.end());
    remove_units(state, group.name, units);
    spdlog::info("{}: epoch {:.2f}: removed {} of the {} {} of {} ({} left)", tag(), state.epoch, remove, group.units,
                 models::to_string(kind_), group.name, group.units - remove);
    changed = true;
  }
  if (changed) {
    rebuild_optimizer(state);
    importance_.clear();
  }
}

void StructuredPruningModifier::remove_named_layers(TrainState& state) {
  const auto group = state.model.structure_groups(kind_).front();
  std::vector<int64_t> units;
  for (int64_t u = 0; u < group.units; ++u)
    if (std::find(layers_.begin(), layers_.end(), group.name + ".layer." + std::to_string(u)) != layers_.end())
      units.push_back(u);
  if (units.empty()) return;
  remove_units(state, group.name, units);
  spdlog::info("{}: epoch {:.2f}: removed {} of the {} layers of {}", tag(), state.epoch, units.size(), group.units, group.name);
  rebuild_optimizer(state);
}

void StructuredPruningModifier::remove_units(TrainState& state, const std::string& group, const std::vector<int64_t>& units) {
  state.model.remove_units(kind_, group, units);
  removed_ += static_cast<int64_t>(units.size());
  removals_.emplace_back(group, units);
}

nlohmann::json StructuredPruningModifier::on_save_state(std::map<std::string, torch::Tensor>& tensors) const {
  nlohmann::json removals = nlohmann::json::array();
  for (const auto& [group, units] : removals_) removals.push_back({{"group", group}, {"units", units}});
  std::vector<std::string> scored;
  for (const auto& [name, t] : importance_) {
    tensors["importance:" + name] = t;
    scored.push_back(name);
  }
  return {{"removals", removals}, {"original_units", original_units_}, {"importance", scored}};
}

void StructuredPruningModifier::on_restore_structure(TrainState& state, const nlohmann::json& saved) {
  if (saved.is_null()) return;
  for (const auto& r : saved.at("removals")) remove_units(state, r.at("group").get<std::string>(), r.at("units").get<std::vector<int64_t>>());
  if (!removals_.empty()) rebuild_optimizer(state);
}

void StructuredPruningModifier::on_restore_state(TrainState&, const nlohmann::json& saved,
                                                 const std::map<std::string, torch::Tensor>& tensors) {
  if (saved.is_null()) return;
  original_units_ = saved.at("original_units").get<std::map<std::string, int64_t>>();
  importance_.clear();
  for (const auto& name : saved.at("importance")) importance_[name.get<std::string>()] = tensors.at("importance:" + name.get<std::string>());
}

void StructuredPruningModifier::on_update(TrainState& state, double epoch) {
  if (!layers_.empty()) {
    remove_named_layers(state);
    return;
  }
  recipe::GMPruningParams schedule;
  schedule.start_epoch = params_.start_epoch;
  schedule.end_epoch = params_.end_epoch;
  schedule.init_sparsity = params_.init_sparsity;
  schedule.final_sparsity = params_.final_sparsity;
  schedule.inter_func = params_.inter_func;
  prune_to(state, recipe::target_sparsity(schedule, epoch));
}

void StructuredPruningModifier::on_end(TrainState& state, double) {
  if (layers_.empty()) prune_to(state, params_.final_sparsity);
}

void StructuredPruningModifier::on_step(TrainState& state, const Event& event) {
  if (params_.score != recipe::UnitScore::FirstOrder || event.type != EventType::OptimizerPreStep) return;
  torch::NoGradGuard no_grad;
  for (const auto& group : selected_groups(state.model)) {
    std::vector<std::string> names;
    for (const auto& s : group.slices) names.push_back(s.param);
    for (const auto& unit : group.unit_params) names.insert(names.end(), unit.begin(), unit.end());
    for (const auto& name : names) {
      const auto w = parameter(state.model, name);
      if (!w.grad().defined()) continue;
      const auto contribution = (w * w.grad()).abs();
      auto& acc = importance_[name];
      acc = acc.defined() ? acc + contribution : contribution;
    }
  }
}

void rebuild_optimizer(TrainState& state) {
  auto params = state.model.parameters();
  std::set<std::string> live;
  for (const auto& p : params) live.insert(c10::guts::to_string(p.unsafeGetTensorImpl()));
  // make_optimizer puts every parameter in one group.
  auto& groups = state.optimizer.param_groups();
  groups.front().params() = params;
  for (size_t i = 1; i < groups.size(); ++i) groups[i].params().clear();
  auto& saved = state.optimizer.state();
  std::vector<std::string> stale;
  for (const auto& kv : saved)
    if (!live.count(kv.first)) stale.push_back(kv.first);
  for (const auto& key : stale) saved.erase(key);
}

}  // namespace sparrow::compress
