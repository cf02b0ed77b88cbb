// recipe.resolved.yaml: the recipe exactly as it ran, every variable, eval()
// and override applied, in a form parse_recipe reads back to the same Recipe.
#include <yaml-cpp/yaml.h>

#include "recipe/expression.h"
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
    out << YAML::DoubleQuoted << j.get<std::string>();
  } else if (j.is_boolean()) {
    out << j.get<bool>();
  } else if (j.is_number_integer()) {
    out << j.get<int64_t>();
  } else if (j.is_number()) {
    out << format_number(j.get<double>());
  } else {
    out << YAML::Null;
  }
}

template <typename T>
void field(YAML::Emitter& out, const char* key, const T& value) {
  out << YAML::Key << key << YAML::Value << value;
}

// Shortest text that reads back exactly: 0.05, not 0.050000000000000003.
void field(YAML::Emitter& out, const char* key, double value) {
  out << YAML::Key << key << YAML::Value << format_number(value);
}

void numbers(YAML::Emitter& out, const char* key, const std::vector<double>& values) {
  out << YAML::Key << key << YAML::Value << YAML::Flow << YAML::BeginSeq;
  for (const double v : values) out << format_number(v);
  out << YAML::EndSeq;
}

void strings(YAML::Emitter& out, const char* key, const std::vector<std::string>& values) {
  out << YAML::Key << key << YAML::Value << YAML::Flow << YAML::BeginSeq;
  for (const auto& v : values) out << YAML::DoubleQuoted << v;
  out << YAML::EndSeq;
}

void range(YAML::Emitter& out, double start, double end) {
  field(out, "start_epoch", start);
  field(out, "end_epoch", end);
}

const char* lr_func_name(LrFunc f) {
  switch (f) {
    case LrFunc::Linear: return "linear";
    case LrFunc::Cosine: return "cosine";
    case LrFunc::CyclicLinear: return "cyclic_linear";
  }
  return "linear";
}

const char* lr_class_name(LrClass c) {
  switch (c) {
    case LrClass::StepLR: return "StepLR";
    case LrClass::MultiStepLR: return "MultiStepLR";
    case LrClass::ExponentialLR: return "ExponentialLR";
  }
  return "StepLR";
}

void mask_kind(YAML::Emitter& out, const char* key, const MaskKind& mask) {
  out << YAML::Key << key << YAML::Value;
  if (mask.type == MaskKind::Type::Block && mask.rows != 1)
    out << YAML::Flow << std::vector<int64_t>{mask.rows, mask.cols};
  else
    out << YAML::DoubleQuoted << mask.name();
}

void one_shot_pruning(YAML::Emitter& out, const OneShotPruningParams& p) {
  field(out, "sparsity", p.sparsity);
  mask_kind(out, "mask_structure", p.mask);
  strings(out, "targets", p.targets);
  if (!p.ignore.empty()) strings(out, "ignore", p.ignore);
  field(out, "num_calibration_samples", p.num_calibration_samples);
}

struct ModifierEmitter {
  YAML::Emitter& out;
  void operator()(const EpochRangeParams& p) const { range(out, p.start_epoch, p.end_epoch); }
  void operator()(const SetLearningRateParams& p) const {
    range(out, p.start_epoch, p.end_epoch);
    field(out, "learning_rate", p.learning_rate);
  }
  void operator()(const LearningRateFunctionParams& p) const {
    range(out, p.start_epoch, p.end_epoch);
    field(out, "lr_func", lr_func_name(p.lr_func));
    field(out, "init_lr", p.init_lr);
    field(out, "final_lr", p.final_lr);
    field(out, "cycle_epochs", p.cycle_epochs);
  }
  void operator()(const LearningRateParams& p) const {
    range(out, p.start_epoch, p.end_epoch);
    field(out, "lr_class", lr_class_name(p.lr_class));
    field(out, "init_lr", p.init_lr);
    out << YAML::Key << "lr_kwargs" << YAML::Value << YAML::BeginMap;
    field(out, "gamma", p.gamma);
    if (p.lr_class == LrClass::StepLR) field(out, "step_size", p.step_size);
    if (p.lr_class == LrClass::MultiStepLR) numbers(out, "milestones", p.milestones);
    out << YAML::EndMap;
  }
  void operator()(const SetWeightDecayParams& p) const {
    field(out, "start_epoch", p.start_epoch);
    field(out, "weight_decay", p.weight_decay);
    if (!p.param_groups.empty()) out << YAML::Key << "param_groups" << YAML::Value << YAML::Flow << p.param_groups;
  }
  void operator()(const GMPruningParams& p) const {
    range(out, p.start_epoch, p.end_epoch);
    field(out, "update_frequency", p.update_frequency);
    if (p.init_sparsity_from_param) field(out, "init_sparsity", "__FROM_PARAM__");
    else field(out, "init_sparsity", p.init_sparsity);
    field(out, "final_sparsity", p.final_sparsity);
    strings(out, "params", p.params);
    field(out, "inter_func", to_string(p.inter_func));
    mask_kind(out, "mask_type", p.mask);
    field(out, "leave_enabled", p.leave_enabled);
  }
  void operator()(const GlobalMagnitudePruningParams& p) const { (*this)(static_cast<const GMPruningParams&>(p)); }
  void operator()(const ConstantPruningParams& p) const {
    range(out, p.start_epoch, p.end_epoch);
    field(out, "update_frequency", p.update_frequency);
    strings(out, "params", p.params);
  }
  void operator()(const StructuredPruningParams& p) const {
    range(out, p.start_epoch, p.end_epoch);
    field(out, "update_frequency", p.update_frequency);
    field(out, "init_sparsity", p.init_sparsity);
    field(out, "final_sparsity", p.final_sparsity);
    field(out, "inter_func", to_string(p.inter_func));
    field(out, "score", p.score == UnitScore::FirstOrder ? "first_order" : "magnitude");
    if (!p.modules.empty()) strings(out, "modules", p.modules);
  }
  void operator()(const LayerPruningParams& p) const {
    if (p.layers.empty()) {
      (*this)(static_cast<const StructuredPruningParams&>(p));
      return;
    }
    range(out, p.start_epoch, p.end_epoch);
    field(out, "update_frequency", p.update_frequency);
    strings(out, "layers", p.layers);
  }
  void operator()(const QuantizationParams& p) const {
    range(out, p.start_epoch, p.end_epoch);
    field(out, "disable_quantization_observer_epoch", p.disable_quantization_observer_epoch);
    field(out, "freeze_bn_stats_epoch", p.freeze_bn_stats_epoch);
    field(out, "num_calibration_steps", p.num_calibration_steps);
    if (p.quantize_attention) field(out, "quantize_attention", true);
    if (!p.ignore.empty()) {
      strings(out, "ignore", p.ignore);  // the scheme: form
      return;
    }
    if (!p.submodules.empty()) strings(out, "submodules", p.submodules);
    if (!p.exclude_module_types.empty()) strings(out, "exclude_module_types", p.exclude_module_types);
    field(out, "quantize_embeddings", p.quantize_embeddings);
    field(out, "quantize_linear_activations", p.quantize_linear_activations);
    field(out, "quantize_conv_activations", p.quantize_conv_activations);
    field(out, "activation_bits", p.activation_bits);
    field(out, "weight_bits", p.weight_bits);
  }
  void operator()(const WandaPruningParams& p) const { one_shot_pruning(out, p); }
  void operator()(const SparseGPTParams& p) const {
    one_shot_pruning(out, p);
    field(out, "block_size", p.block_size);
    field(out, "dampening_frac", p.dampening_frac);
    field(out, "sequential_update", p.sequential_update);
    field(out, "quantize", p.quantize);
  }
  void operator()(const DistillationParams& p) const {
    range(out, p.start_epoch, p.end_epoch);
    field(out, "update_frequency", p.update_frequency);
    field(out, "hardness", p.hardness);
    field(out, "temperature", p.temperature);
    if (!p.distill_output_keys.empty()) strings(out, "distill_output_keys", p.distill_output_keys);
    if (p.hidden_state_gain > 0) field(out, "hidden_state_gain", p.hidden_state_gain);
    if (!p.student_layer_names.empty()) strings(out, "student_layer_names", p.student_layer_names);
    if (!p.teacher_layer_names.empty()) strings(out, "teacher_layer_names", p.teacher_layer_names);
  }
  void operator()(const OutputDistillationParams& p) const {
    range(out, p.start_epoch, p.end_epoch);
    strings(out, "targets", p.targets);
    field(out, "comparison", std::string(p.comparison == OutputComparison::SquareHead ? "square_head" : "mse"));
    field(out, "orig_scale", p.orig_scale);
    field(out, "distill_scale", p.distill_scale);
    field(out, "logits_scale", p.logits_scale);
    field(out, "temperature", p.temperature);
  }
};

}  // namespace

std::string resolved_yaml(const Recipe& r) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  if (!r.version.empty()) out << YAML::Key << "version" << YAML::Value << YAML::DoubleQuoted << r.version;
  if (!r.model.name.empty()) {
    out << YAML::Key << "model" << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "name" << YAML::Value << r.model.name;
    for (const auto& [k, v] : r.model.options.items()) {
      out << YAML::Key << k << YAML::Value;
      emit_json(out, v);
    }
    out << YAML::EndMap;
  }

  out << YAML::Key << "data" << YAML::Value << YAML::BeginMap;
  field(out, "dataset", r.data.dataset);
  if (!r.data.path.empty()) out << YAML::Key << "path" << YAML::Value << YAML::DoubleQuoted << r.data.path;
  field(out, "train_limit", r.data.train_limit);
  field(out, "test_limit", r.data.test_limit);
  if (is_corpus_dataset(r.data.dataset)) {
    field(out, "validation_fraction", r.data.validation_fraction);
    field(out, "test_fraction", r.data.test_fraction);
    field(out, "split_seed", r.data.split_seed);
  }
  out << YAML::EndMap;

  if (r.teacher.self) {
    field(out, "teacher", "self");
  } else if (!r.teacher.checkpoint.empty()) {
    out << YAML::Key << "teacher" << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "checkpoint" << YAML::Value << YAML::DoubleQuoted << r.teacher.checkpoint;
    out << YAML::EndMap;
  }

  const TrainSpec& t = r.train;
  out << YAML::Key << "train" << YAML::Value << YAML::BeginMap;
  field(out, "epochs", t.epochs);
  field(out, "batch_size", t.batch_size);
  field(out, "eval_batch_size", t.eval_batch_size);
  field(out, "optimizer", t.optimizer);
  field(out, "lr", t.lr);
  field(out, "momentum", t.momentum);
  field(out, "weight_decay", t.weight_decay);
  field(out, "seed", t.seed);
  if (t.save_steps > 0) field(out, "save_steps", t.save_steps);
  out << YAML::EndMap;

  if (r.export_spec.enabled) {
    out << YAML::Key << "export" << YAML::Value << YAML::BeginMap;
    field(out, "format", r.export_spec.format);
    out << YAML::Key << "file" << YAML::Value << YAML::DoubleQuoted << r.export_spec.file;
    out << YAML::EndMap;
  }

  if (r.gates.any()) {
    out << YAML::Key << "gates" << YAML::Value << YAML::BeginMap;
    if (r.gates.min_accuracy) field(out, "min_accuracy", *r.gates.min_accuracy);
    if (r.gates.max_accuracy_drop) field(out, "max_accuracy_drop", *r.gates.max_accuracy_drop);
    if (r.gates.min_accuracy_ratio) field(out, "min_accuracy_ratio", *r.gates.min_accuracy_ratio);
    if (r.gates.min_sparsity) field(out, "min_sparsity", *r.gates.min_sparsity);
    if (r.gates.min_speedup) field(out, "min_speedup", *r.gates.min_speedup);
    if (r.gates.speedup_batch != 32) field(out, "speedup_batch", r.gates.speedup_batch);
    if (r.gates.speedup_threads != 0) field(out, "speedup_threads", std::string("1"));
    if (r.gates.max_perplexity) field(out, "max_perplexity", *r.gates.max_perplexity);
    if (r.gates.max_perplexity_ratio) field(out, "max_perplexity_ratio", *r.gates.max_perplexity_ratio);
    out << YAML::EndMap;
  }

  // Stages are flattened: their epochs are absolute, so one list runs the same.
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
