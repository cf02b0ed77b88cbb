#include <yaml-cpp/yaml.h>

#include "recipe/gmp_schedule.h"
#include "recipe/recipe.h"

namespace sparrow::recipe {

namespace {

void emit_json(YAML::Emitter& out, const nlohmann::json& j) {
  if (j.is_object()) {
    out << YAML::BeginMap;
    for (const auto& [k, v] : j.items()) {
      out << YAML::Key << k << YAML::Value;
      emit_json(out, v);
    }
    out << YAML::EndMap;
  } else if (j.is_array()) {
    out << YAML::Flow << YAML::BeginSeq;
    for (const auto& v : j) emit_json(out, v);
    out << YAML::EndSeq;
  } else if (j.is_string()) {
    out << j.get<std::string>();
  } else if (j.is_boolean()) {
    out << j.get<bool>();
  } else if (j.is_number_integer()) {
    out << j.get<int64_t>();
  } else if (j.is_number()) {
    out << j.get<double>();
  } else {
    out << YAML::Null;
  }
}

void emit_range(YAML::Emitter& out, double start, double end) {
  out << YAML::Key << "start_epoch" << YAML::Value << start;
  out << YAML::Key << "end_epoch" << YAML::Value << end;
}

struct ModifierEmitter {
  YAML::Emitter& out;
  void operator()(const EpochRangeParams& p) const { emit_range(out, p.start_epoch, p.end_epoch); }
  void operator()(const SetLearningRateParams& p) const {
    emit_range(out, p.start_epoch, p.end_epoch);
    out << YAML::Key << "learning_rate" << YAML::Value << p.learning_rate;
  }
  void operator()(const GMPruningParams& p) const {
    emit_range(out, p.start_epoch, p.end_epoch);
    out << YAML::Key << "update_frequency" << YAML::Value << p.update_frequency;
    out << YAML::Key << "init_sparsity" << YAML::Value << p.init_sparsity;
    out << YAML::Key << "final_sparsity" << YAML::Value << p.final_sparsity;
    out << YAML::Key << "params" << YAML::Value << YAML::Flow << p.params;
    out << YAML::Key << "inter_func" << YAML::Value << to_string(p.inter_func);
    out << YAML::Key << "mask_type" << YAML::Value << p.mask_type;
    out << YAML::Key << "leave_enabled" << YAML::Value << p.leave_enabled;
  }
};

}  // namespace

std::string resolved_yaml(const Recipe& r) {
  YAML::Emitter out;
  out.SetDoublePrecision(17);
  out << YAML::BeginMap;
  out << YAML::Key << "model" << YAML::Value;
  nlohmann::json model = r.model.options;
  model["name"] = r.model.name;
  emit_json(out, model);

  out << YAML::Key << "data" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "dataset" << YAML::Value << r.data.dataset;
  if (!r.data.path.empty()) out << YAML::Key << "path" << YAML::Value << r.data.path;
  out << YAML::Key << "train_limit" << YAML::Value << r.data.train_limit;
  out << YAML::Key << "test_limit" << YAML::Value << r.data.test_limit;
  out << YAML::EndMap;

  const TrainSpec& t = r.train;
  out << YAML::Key << "train" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "epochs" << YAML::Value << t.epochs;
  out << YAML::Key << "batch_size" << YAML::Value << t.batch_size;
  out << YAML::Key << "eval_batch_size" << YAML::Value << t.eval_batch_size;
  out << YAML::Key << "optimizer" << YAML::Value << t.optimizer;
  out << YAML::Key << "lr" << YAML::Value << t.lr;
  out << YAML::Key << "momentum" << YAML::Value << t.momentum;
  out << YAML::Key << "weight_decay" << YAML::Value << t.weight_decay;
  out << YAML::Key << "seed" << YAML::Value << t.seed;
  out << YAML::EndMap;

  out << YAML::Key << "modifiers" << YAML::Value << YAML::BeginSeq;
  for (const auto& m : r.modifiers) {
    out << YAML::LocalTag(m.tag) << YAML::BeginMap;
    std::visit(ModifierEmitter{out}, m.params);
    out << YAML::EndMap;
  }
  out << YAML::EndSeq << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

}  // namespace sparrow::recipe
