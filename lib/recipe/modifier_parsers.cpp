#include "recipe/modifier_parsers.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <functional>
#include <map>
#include <regex>

#include "recipe/gmp_schedule.h"
#include "recipe/hidden_state_names.h"
#include "recipe/limits.h"

namespace sparrow::recipe {

namespace {

std::string num(double v) { return format_number(v); }

// Fields SparseML uses only for its loggers: read, warned about, not honoured.
void logging_fields(FieldReader& f) {
  for (const char* key : {"log_types", "constant_logging"})
    if (f.has(key)) f.warn(key, std::string("field '") + key + "' only steers SparseML's loggers; Sparrow ignores it");
}

// start_epoch: >= 0, or -1 (SparseML: start immediately) stored as 0.
// end_epoch: -1 (unset) or greater than start_epoch; equal to it too when `one_shot` (pruning to the final
// sparsity at once, SparseML's one-shot form).
void read_range(FieldReader& f, double& start, double& end, bool end_required, bool one_shot = false) {
  if (const auto s = f.epochs("start_epoch")) {
    if (*s == -1.0) {
      start = 0.0;
    } else if (*s < 0) {
      f.error("start_epoch", "start_epoch must be >= 0, or -1 to start immediately; got " + num(*s));
    } else {
      start = *s;
    }
  }
  if (end_required && !f.require("end_epoch", "a number of epochs")) return;
  if (const auto e = f.epochs("end_epoch")) {
    if (*e == -1.0) {
      if (end_required) f.error("end_epoch", f.what() + " needs an end_epoch; -1 (unset) is not allowed here");
      else end = -1.0;
    } else if (one_shot && *e < start) {
      f.error("end_epoch", "end_epoch (" + num(*e) + ") must be >= start_epoch (" + num(start) +
                               "); equal prunes to final_sparsity at once (one-shot)");
    } else if (!one_shot && *e <= start) {
      f.error("end_epoch", "end_epoch (" + num(*e) + ") must be greater than start_epoch (" + num(start) +
                               "), or -1 for unset");
    } else {
      end = *e;
    }
  }
}

void read_update_frequency(FieldReader& f, double& freq) {
  if (const auto v = f.epochs("update_frequency")) {
    if (*v == -1.0 || *v > 0) freq = *v;
    else f.error("update_frequency", "update_frequency must be > 0 (epochs between updates) or -1, got " + num(*v));
  }
}

// A number in [lo, hi) or [lo, hi] into `out`; true when one was read (so checks against it mean something).
bool read_in_range(FieldReader& f, const std::string& key, double& out, double lo, double hi, bool hi_inclusive) {
  const auto v = f.number(key);
  if (!v) return false;
  if (*v < lo || (hi_inclusive ? *v > hi : *v >= hi)) {
    f.error(key, key + " must be in [" + num(lo) + ", " + num(hi) + (hi_inclusive ? "]" : ")") + ", got " + num(*v));
    return false;
  }
  out = *v;
  return true;
}

void read_positive(FieldReader& f, const std::string& key, double& out) {
  const auto v = f.number(key);
  if (!v) return;
  if (*v <= 0) f.error(key, key + " must be > 0, got " + num(*v));
  else out = *v;
}

// An enum field by name, with "did you mean" over the valid names.
template <typename E>
void read_choice(FieldReader& f, const std::string& key, E& out, const std::vector<std::pair<std::string, E>>& choices) {
  const auto v = f.string(key);
  if (!v) return;
  std::vector<std::string> names;
  for (const auto& [name, value] : choices) {
    if (name == *v) {
      out = value;
      return;
    }
    names.push_back(name);
  }
  std::string list;
  for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
  f.error(key, key + " must be one of " + list + "; got '" + *v + "'" + did_you_mean(*v, names));
}

// params: a name, "re:<regex>", __ALL__ or __ALL_PRUNABLE__, or a list of them.
bool read_params(FieldReader& f, const std::string& key, std::vector<std::string>& out, bool required) {
  if (required && !f.require(key, "a parameter name, re:<regex>, __ALL_PRUNABLE__ or a list of them")) return false;
  const auto v = f.strings(key);
  if (!v) return false;
  if (v->empty()) {
    f.error(key, key + " must name at least one parameter");
    return false;
  }
  bool ok = true;
  for (const auto& p : *v) {
    if (p.rfind("re:", 0) != 0) continue;
    if (p.size() - 3 > kMaxPatternLength) {
      f.error(key, "params pattern '" + excerpt(p) + "' is longer than the " + std::to_string(kMaxPatternLength) +
                       " characters a regular expression may have");
      ok = false;
      continue;
    }
    // libstdc++ reads a quantifier's or back-reference's digits into an int without checking for overflow
    // (undefined behaviour, found by fuzzing); no real pattern needs a number that long.
    const std::string regex = p.substr(3);
    size_t run = 0, longest = 0;
    for (const char c : regex) {
      run = std::isdigit(static_cast<unsigned char>(c)) ? run + 1 : 0;
      longest = std::max(longest, run);
    }
    if (longest > kMaxPatternDigits) {
      f.error(key, "params pattern '" + excerpt(p) + "' has a number of " + std::to_string(longest) + " digits; a regular "
                   "expression's numbers may have at most " + std::to_string(kMaxPatternDigits));
      ok = false;
      continue;
    }
    try {
      std::regex{regex};
    } catch (const std::regex_error& e) {
      f.error(key, "params pattern '" + excerpt(p) + "' is not a valid regular expression: " + e.what());
      ok = false;
    }
  }
  out = *v;
  return ok;
}

// A mask kind written as a name ("block4", "2:4", "[4, 4]") or a list [rows, columns] under `key`.
void read_mask_kind(FieldReader& f, const std::string& key, MaskKind& out) {
  const YAML::Node n = f.node(key);
  if (!n.IsDefined() || n.IsNull()) return;
  try {
    if (n.IsSequence()) {
      std::vector<int64_t> dims;
      for (const auto& d : n) {
        int64_t v;
        if (!d.IsScalar() || !YAML::convert<int64_t>::decode(d, v) || v <= 0) {
          f.error(key, "a block " + key + " lists two positive integers [rows, columns], got " + describe_node(d));
          return;
        }
        dims.push_back(v);
      }
      if (dims.size() != 2) {
        f.error(key, "a block " + key + " is [rows, columns], got " + std::to_string(dims.size()) + " numbers");
        return;
      }
      out = MaskKind::block(dims[0], dims[1]);
    } else if (const auto s = f.string(key)) {
      // SparseML's mask_structure writes unstructured as "0:0".
      out = key == "mask_structure" && *s == "0:0" ? MaskKind{} : MaskKind::parse(*s);
    }
  } catch (const std::invalid_argument& e) {
    f.error(key, e.what());
  }
}

struct SparsityGroup {
  double sparsity;
  std::vector<std::string> params;
};

// The shared fields of GMPruning / MagnitudePruning / GlobalMagnitudePruning.
// Returns the per-sparsity groups of the mapping form (empty otherwise).
std::vector<SparsityGroup> read_magnitude_pruning(FieldReader& f, GMPruningParams& p, bool allow_mapping) {
  read_range(f, p.start_epoch, p.end_epoch, true, /*one_shot=*/true);
  read_update_frequency(f, p.update_frequency);
  const YAML::Node init = f.node("init_sparsity");
  if (init.IsScalar() && init.Scalar() == "__FROM_PARAM__") p.init_sparsity_from_param = true;
  else read_in_range(f, "init_sparsity", p.init_sparsity, 0.0, 1.0, false);

  std::vector<SparsityGroup> groups;
  const YAML::Node fin = f.node("final_sparsity");
  const bool mapping = fin.IsMap();
  bool final_read = false;  // a wrong final_sparsity is the one error, not also init_sparsity's comparison with it
  if (!mapping) {
    if (f.require("final_sparsity", "a number in [0, 1), or a mapping {sparsity: [params]}"))
      final_read = read_in_range(f, "final_sparsity", p.final_sparsity, 0.0, 1.0, false);
    read_params(f, "params", p.params, true);
  } else if (!allow_mapping) {
    f.error("final_sparsity", f.what() + " takes one final_sparsity for all its params, not a mapping");
  } else {
    if (f.has("params"))
      f.error("params", "leave params out when final_sparsity maps sparsities to params (they come from the mapping)");
    for (const auto& kv : fin) {
      double s;
      if (!YAML::convert<double>::decode(kv.first, s) || s < 0.0 || s >= 1.0) {
        f.context().diag.error(f.where(kv.first) + ": final_sparsity keys must be sparsities in [0, 1), got " +
                               describe_node(kv.first));
        continue;
      }
      SparsityGroup g{s, {}};
      if (kv.second.IsScalar()) {
        g.params.push_back(kv.second.Scalar());
      } else if (kv.second.IsSequence() && kv.second.size() > 0) {
        for (const auto& item : kv.second) {
          if (item.IsScalar()) g.params.push_back(item.Scalar());
          else f.context().diag.error(f.where(item) + ": final_sparsity lists parameter names, got " + describe_node(item));
        }
      } else {
        f.context().diag.error(f.where(kv.second) + ": final_sparsity " + num(s) +
                               " needs a parameter name or a list of them, got " + describe_node(kv.second));
        continue;
      }
      groups.push_back(std::move(g));
    }
  }
  const auto check_init = [&](double final_sparsity) {
    if (!p.init_sparsity_from_param && p.init_sparsity > final_sparsity)
      f.error("init_sparsity", "init_sparsity (" + num(p.init_sparsity) + ") must not exceed final_sparsity (" +
                                   num(final_sparsity) + ")");
  };
  if (final_read) check_init(p.final_sparsity);
  for (const auto& g : groups) check_init(g.sparsity);

  const auto inter = f.string("inter_func");
  if (inter) {
    try {
      p.inter_func = parse_inter_func(*inter);
    } catch (const std::invalid_argument&) {
      f.error("inter_func", "inter_func must be linear, cubic or inverse_cubic; got '" + *inter + "'" +
                                did_you_mean(*inter, {"linear", "cubic", "inverse_cubic"}));
    }
  }
  read_mask_kind(f, "mask_type", p.mask);
  if (p.mask.type == MaskKind::Type::NofM) {
    // N:M keeps N of every M weights: it cannot remove more than 1 - N/M.
    const double most = p.mask.max_sparsity();
    double highest = groups.empty() ? p.final_sparsity : 0.0;
    for (const auto& g : groups) highest = std::max(highest, g.sparsity);
    if (highest > most + 1e-12)
      f.error("mask_type", "a " + p.mask.name() + " mask keeps " + std::to_string(p.mask.n) + " of every " +
                               std::to_string(p.mask.m) + " weights, so final_sparsity can be at most " + num(most) +
                               "; got " + num(highest));
  }
  if (const auto v = f.boolean("leave_enabled")) p.leave_enabled = *v;
  logging_fields(f);
  return groups;
}

using Emit = std::function<void(ModifierParams)>;
using Parser = std::function<void(FieldReader&, const Emit&)>;

void parse_epoch_range(FieldReader& f, const Emit& emit) {
  EpochRangeParams p;
  read_range(f, p.start_epoch, p.end_epoch, false);
  emit(p);
}

void parse_set_lr(FieldReader& f, const Emit& emit) {
  SetLearningRateParams p;
  read_range(f, p.start_epoch, p.end_epoch, false);
  if (f.require("learning_rate", "a number > 0")) read_positive(f, "learning_rate", p.learning_rate);
  logging_fields(f);
  emit(p);
}

void parse_lr_function(FieldReader& f, const Emit& emit) {
  LearningRateFunctionParams p;
  read_range(f, p.start_epoch, p.end_epoch, true);
  if (f.require("lr_func", "linear, cosine or cyclic_linear"))
    read_choice<LrFunc>(f, "lr_func", p.lr_func,
                        {{"linear", LrFunc::Linear}, {"cosine", LrFunc::Cosine}, {"cyclic_linear", LrFunc::CyclicLinear}});
  if (f.require("init_lr", "a number >= 0")) read_in_range(f, "init_lr", p.init_lr, 0.0, 1e9, true);
  if (f.require("final_lr", "a number >= 0")) read_in_range(f, "final_lr", p.final_lr, 0.0, 1e9, true);
  if (const auto c = f.epochs("cycle_epochs")) {
    if (*c != -1.0 && *c <= 0) f.error("cycle_epochs", "cycle_epochs must be > 0, or -1 for the whole range; got " + num(*c));
    else if (p.lr_func != LrFunc::CyclicLinear && *c != -1.0)
      f.warn("cycle_epochs", "cycle_epochs only matters for lr_func cyclic_linear; ignored");
    else p.cycle_epochs = *c;
  }
  if (const auto u = f.number("update_frequency"); u && *u != -1.0)
    f.error("update_frequency", "!LearningRateFunctionModifier updates every step; update_frequency must be -1");
  logging_fields(f);
  emit(p);
}

void parse_lr(FieldReader& f, const Emit& emit) {
  LearningRateParams p;
  read_range(f, p.start_epoch, p.end_epoch, false);
  if (f.require("lr_class", "StepLR, MultiStepLR or ExponentialLR"))
    read_choice<LrClass>(f, "lr_class", p.lr_class,
                         {{"StepLR", LrClass::StepLR}, {"MultiStepLR", LrClass::MultiStepLR},
                          {"ExponentialLR", LrClass::ExponentialLR}});
  if (f.require("init_lr", "a number > 0")) read_positive(f, "init_lr", p.init_lr);
  if (const auto u = f.number("update_frequency"); u && *u != -1.0)
    f.error("update_frequency", "!LearningRateModifier updates every step; update_frequency must be -1");
  const YAML::Node kwargs_node = f.node("lr_kwargs");
  if (f.require("lr_kwargs", "a mapping, e.g. {gamma: 0.9}")) {
    const char* cls = p.lr_class == LrClass::StepLR ? "StepLR" : p.lr_class == LrClass::MultiStepLR ? "MultiStepLR" : "ExponentialLR";
    FieldReader k(f.context(), kwargs_node, std::string("lr_kwargs of ") + cls);
    if (k.require("gamma", "a number > 0")) read_positive(k, "gamma", p.gamma);
    if (p.lr_class == LrClass::StepLR && k.require("step_size", "epochs between decays")) {
      if (const auto v = k.epochs("step_size"); v && *v <= 0) k.error("step_size", "step_size must be > 0, got " + num(*v));
      else if (v) p.step_size = *v;
    }
    if (p.lr_class == LrClass::MultiStepLR && k.require("milestones", "a list of epochs")) {
      const YAML::Node ms = k.node("milestones");
      if (!ms.IsSequence() || ms.size() == 0) {
        k.error("milestones", "milestones must be a list of epochs, got " + describe_node(ms));
      } else {
        for (const auto& m : ms) {
          const auto v = k.context().scope.number(m, "milestones");
          if (!v) continue;
          const double e = v->as_double();
          if (e > kMaxEpochs)
            k.context().diag.error(k.where(m) + ": " + above_max_epochs("milestone", e));
          else if (e <= p.start_epoch || (p.end_epoch >= 0 && e >= p.end_epoch))
            k.context().diag.error(k.where(m) + ": milestone " + num(e) + " must lie inside (start_epoch, end_epoch)");
          else if (!p.milestones.empty() && e <= p.milestones.back())
            k.context().diag.error(k.where(m) + ": milestones must increase, got " + num(e) + " after " + num(p.milestones.back()));
          else p.milestones.push_back(e);
        }
      }
    }
    k.finish();
  }
  logging_fields(f);
  emit(p);
}

void parse_set_weight_decay(FieldReader& f, const Emit& emit) {
  SetWeightDecayParams p;
  double end = -1.0;
  read_range(f, p.start_epoch, end, false);
  if (end != -1.0) f.error("end_epoch", "!SetWeightDecayModifier sets the weight decay once and has no end; end_epoch must be -1");
  if (f.require("weight_decay", "a number >= 0")) read_in_range(f, "weight_decay", p.weight_decay, 0.0, 1.0, true);
  const YAML::Node groups = f.node("param_groups");
  if (groups.IsDefined() && !groups.IsNull()) {
    int64_t g;
    for (const auto& item : groups) {
      if (item.IsScalar() && YAML::convert<int64_t>::decode(item, g) && g >= 0) p.param_groups.push_back(g);
      else f.context().diag.error(f.where(item) + ": param_groups lists optimizer group indices (integers >= 0), got " + describe_node(item));
    }
    if (!groups.IsSequence()) f.error("param_groups", "param_groups must be a list of integers, got " + describe_node(groups));
  }
  logging_fields(f);
  emit(p);
}

void parse_gm_pruning(FieldReader& f, const Emit& emit) {
  GMPruningParams p;
  const bool global = f.boolean("global_sparsity").value_or(false);
  const auto groups = read_magnitude_pruning(f, p, !global);
  if (global) {
    GlobalMagnitudePruningParams g;
    static_cast<GMPruningParams&>(g) = p;
    emit(g);
    return;
  }
  if (groups.empty()) {
    emit(p);
    return;
  }
  for (const auto& group : groups) {
    GMPruningParams one = p;
    one.final_sparsity = group.sparsity;
    one.params = group.params;
    emit(one);
  }
}

void parse_global_pruning(FieldReader& f, const Emit& emit) {
  GlobalMagnitudePruningParams p;
  read_magnitude_pruning(f, p, false);
  emit(p);
}

void parse_constant_pruning(FieldReader& f, const Emit& emit) {
  ConstantPruningParams p;
  read_range(f, p.start_epoch, p.end_epoch, false);
  read_update_frequency(f, p.update_frequency);
  read_params(f, "params", p.params, true);
  logging_fields(f);
  emit(p);
}

// The fields every structured pruning modifier shares; final_sparsity is
// required unless `final_optional`.
void read_structured(FieldReader& f, StructuredPruningParams& p, bool final_optional) {
  read_range(f, p.start_epoch, p.end_epoch, false);
  read_update_frequency(f, p.update_frequency);
  if (!final_optional) f.require("final_sparsity", "the fraction of each group's units to remove, in (0, 1)");
  // A wrong final_sparsity is the one error, not also init_sparsity's comparison with it.
  const bool final_read = read_in_range(f, "final_sparsity", p.final_sparsity, 0.0, 1.0, false);
  read_in_range(f, "init_sparsity", p.init_sparsity, 0.0, 1.0, false);
  if (p.init_sparsity > p.final_sparsity && final_read)
    f.error("init_sparsity", "init_sparsity (" + num(p.init_sparsity) + ") must not exceed final_sparsity (" +
                                 num(p.final_sparsity) + ")");
  if (const auto inter = f.string("inter_func")) {
    try {
      p.inter_func = parse_inter_func(*inter);
    } catch (const std::invalid_argument&) {
      f.error("inter_func", "inter_func must be linear, cubic or inverse_cubic; got '" + *inter + "'" +
                                did_you_mean(*inter, {"linear", "cubic", "inverse_cubic"}));
    }
  }
  read_choice(f, "score", p.score, {{"magnitude", UnitScore::Magnitude}, {"first_order", UnitScore::FirstOrder}});
  if (f.has("modules")) read_params(f, "modules", p.modules, false);
  logging_fields(f);
}

Parser structured_parser(Structure structure) {
  return [structure](FieldReader& f, const Emit& emit) {
    StructuredPruningParams p;
    p.structure = structure;
    read_structured(f, p, false);
    emit(p);
  };
}

void parse_layer_pruning(FieldReader& f, const Emit& emit) {
  LayerPruningParams p;
  read_structured(f, p, true);
  if (f.has("layers") == f.has("final_sparsity"))
    f.error(f.has("layers") ? "layers" : "final_sparsity",
            "!LayerPruningModifier takes either layers (the layers to remove) or final_sparsity (the fraction to remove, "
            "lowest-scored first), not both or neither");
  if (f.has("layers")) read_params(f, "layers", p.layers, false);
  emit(p);
}

// The newer scheme: form, checked against Sparrow's one quantization scheme.
void read_scheme(FieldReader& f) {
  const YAML::Node n = f.node("scheme");
  if (n.IsScalar()) {
    if (n.Scalar() != "W8A8")
      f.error("scheme", "Sparrow implements one quantization scheme, W8A8 (INT8 weights, UINT8 activations); got '" +
                            n.Scalar() + "'");
    return;
  }
  FieldReader s(f.context(), n, "scheme");
  const auto check_args = [&](const char* key, bool symmetric, const char* strategy) {
    if (!s.has(key)) return;
    FieldReader a(f.context(), s.node(key), std::string("scheme.") + key);
    if (const auto bits = a.integer("num_bits"); bits && *bits != 8)
      a.error("num_bits", std::string(key) + ".num_bits must be 8: Sparrow's engine computes in INT8; got " + std::to_string(*bits));
    if (const auto sym = a.boolean("symmetric"); sym && *sym != symmetric)
      a.error("symmetric", std::string(key) + " are " + (symmetric ? "symmetric" : "asymmetric") +
                               " in Sparrow's scheme; symmetric must be " + (symmetric ? "true" : "false"));
    if (const auto st = a.string("strategy"); st && *st != strategy)
      a.error("strategy", std::string(key) + " are quantized per " + strategy + " in Sparrow's scheme; strategy must be " + strategy);
    if (const auto type = a.string("type"); type && *type != "int")
      a.error("type", std::string(key) + " are integers in Sparrow's scheme; type must be int, got '" + *type + "'");
    a.finish();
  };
  check_args("weights", true, "channel");
  check_args("input_activations", false, "tensor");
  if (s.has("output_activations"))
    s.error("output_activations", "Sparrow does not quantize output activations; leave output_activations out");
  s.finish();
}

void parse_quantization(FieldReader& f, const Emit& emit) {
  QuantizationParams p;
  read_range(f, p.start_epoch, p.end_epoch, false);
  const auto epoch_field = [&](const char* key, double& out) {
    const auto v = f.epochs(key);
    if (!v) return;
    if (*v != -1.0 && *v < p.start_epoch)
      f.error(key, std::string(key) + " (" + num(*v) + ") must be >= start_epoch (" + num(p.start_epoch) + "), or -1");
    else out = *v;
  };
  epoch_field("disable_quantization_observer_epoch", p.disable_quantization_observer_epoch);
  epoch_field("freeze_bn_stats_epoch", p.freeze_bn_stats_epoch);
  if (const auto v = f.integer("num_calibration_steps")) {
    if ((*v != -1 && *v <= 0) || *v > kMaxCalibrationSteps)
      f.error("num_calibration_steps", "num_calibration_steps must be in [1, " + std::to_string(kMaxCalibrationSteps) +
                                           "], or -1; got " + std::to_string(*v));
    else p.num_calibration_steps = *v;
  }
  if (f.has("scheme")) read_scheme(f);
  if (const auto v = f.strings("ignore")) p.ignore = *v;
  if (const auto v = f.boolean("quantize_attention")) p.quantize_attention = *v;

  static const char* const kLegacy[] = {"submodules", "quantize_embeddings", "quantize_linear_activations",
                                        "quantize_conv_activations", "exclude_module_types", "activation_bits",
                                        "weight_bits"};
  if (f.has("scheme") || f.has("ignore"))
    for (const char* key : kLegacy)
      if (f.has(key))
        f.error(key, std::string("field '") + key + "' belongs to the legacy form; with scheme:/ignore: use ignore: to leave modules in FP32");
  if (const auto v = f.strings("submodules")) p.submodules = *v;
  if (const auto v = f.strings("exclude_module_types")) p.exclude_module_types = *v;
  if (const auto v = f.boolean("quantize_embeddings")) p.quantize_embeddings = *v;
  if (const auto v = f.boolean("quantize_linear_activations")) p.quantize_linear_activations = *v;
  if (const auto v = f.boolean("quantize_conv_activations")) p.quantize_conv_activations = *v;
  for (const char* key : {"activation_bits", "weight_bits"}) {
    const auto v = f.integer(key);
    if (v && *v != 8)
      f.error(key, std::string(key) + " must be 8: Sparrow's engine computes in INT8 only; got " + std::to_string(*v));
  }
  if (f.has("model_fuse_fn_name"))
    f.warn("model_fuse_fn_name", "field 'model_fuse_fn_name' names a Python function; Sparrow's models fuse nothing and ignore it");
  logging_fields(f);
  emit(p);
}

const char* const kNotAHiddenState =
    "is not a hidden state; expected bert.embeddings, bert.encoder.layer.N, model.embed_tokens or model.layers.N";

// student_layer_names / teacher_layer_names: both or neither, equally long,
// each a hidden state BERT exposes, no student state named twice.
void read_layer_map(FieldReader& f, DistillationParams& p) {
  const bool student = f.has("student_layer_names"), teacher = f.has("teacher_layer_names");
  if (!student && !teacher) return;
  const std::string key = student ? "student_layer_names" : "teacher_layer_names";
  if (student != teacher) {
    f.error(key, key + " needs " + (student ? "teacher_layer_names" : "student_layer_names") +
                     " beside it: the two lists pair student and teacher hidden states by position");
    return;
  }
  if (p.hidden_state_gain <= 0) {
    f.error(key, key + " maps hidden states for the hidden-state loss, which is off: set hidden_state_gain > 0");
    return;
  }
  for (const auto& [k, out] : {std::pair{"student_layer_names", &p.student_layer_names},
                               std::pair{"teacher_layer_names", &p.teacher_layer_names}}) {
    const auto v = f.strings(k);
    if (!v) return;
    if (v->empty()) return f.error(k, std::string(k) + " must name at least one hidden state");
    for (const auto& name : *v)
      if (!hidden_state_index(name)) return f.error(k, std::string(k) + ": '" + excerpt(name) + "' " + kNotAHiddenState);
    *out = *v;
  }
  if (p.student_layer_names.size() != p.teacher_layer_names.size())
    return f.error("teacher_layer_names", "student_layer_names has " + std::to_string(p.student_layer_names.size()) +
                                              " entries but teacher_layer_names has " + std::to_string(p.teacher_layer_names.size()) +
                                              "; they pair hidden states by position");
  for (size_t i = 0; i < p.student_layer_names.size(); ++i)
    if (std::find(p.student_layer_names.begin(), p.student_layer_names.begin() + static_cast<std::ptrdiff_t>(i),
                  p.student_layer_names[i]) != p.student_layer_names.begin() + static_cast<std::ptrdiff_t>(i))
      return f.error("student_layer_names", "student_layer_names lists '" + p.student_layer_names[i] + "' twice");
}

void parse_distillation(FieldReader& f, const Emit& emit) {
  DistillationParams p;
  read_range(f, p.start_epoch, p.end_epoch, false);
  read_update_frequency(f, p.update_frequency);
  read_in_range(f, "hardness", p.hardness, 0.0, 1.0, true);
  read_positive(f, "temperature", p.temperature);
  if (const auto v = f.strings("distill_output_keys")) p.distill_output_keys = *v;
  if (const auto g = f.number("hidden_state_gain")) {
    if (*g < 0 || !std::isfinite(*g)) f.error("hidden_state_gain", "hidden_state_gain must be a number >= 0 (0: off), got " + num(*g));
    else p.hidden_state_gain = *g;
  }
  read_layer_map(f, p);
  logging_fields(f);
  emit(p);
}

void parse_output_distillation(FieldReader& f, const Emit& emit) {
  OutputDistillationParams p;
  read_range(f, p.start_epoch, p.end_epoch, false);
  if (f.require("targets", "the hidden states to compare: __ALL__ (every layer's output), model.layers.N, re:REGEX or a list") &&
      read_params(f, "targets", p.targets, true))
    for (const auto& t : p.targets)
      if (t != "__ALL__" && t.rfind("re:", 0) != 0 && !hidden_state_index(t)) {
        f.error("targets", "targets: '" + excerpt(t) + "' " + kNotAHiddenState + " (or __ALL__, re:REGEX)");
        break;
      }
  // llm-compressor's default, kl_divergence over softmaxed layer outputs, is not one Sparrow computes: no default.
  if (f.require("comparison", "square_head (Kurtic et al.'s normalized error) or mse"))
    read_choice(f, "comparison", p.comparison, {{"square_head", OutputComparison::SquareHead}, {"mse", OutputComparison::Mse}});
  for (const auto& [key, out] : {std::pair{"orig_scale", &p.orig_scale}, std::pair{"distill_scale", &p.distill_scale},
                                 std::pair{"logits_scale", &p.logits_scale}})
    if (const auto v = f.number(key)) {
      if (*v < 0 || !std::isfinite(*v)) f.error(key, std::string(key) + " must be a number >= 0, got " + num(*v));
      else *out = *v;
    }
  read_positive(f, "temperature", p.temperature);
  // llm-compressor's defaults (no projection, the identity transform) are what Sparrow does; nothing else is.
  if (const auto n = f.node("projection"); n.IsDefined() && !n.IsNull())
    f.error("projection", "projection is not supported: student and teacher layer outputs are compared as they are (same hidden size)");
  if (const auto t = f.string("transforms"); t && *t != "identity")
    f.error("transforms", "transforms must be identity (layer outputs are compared as they are), got '" + excerpt(*t) + "'");
  logging_fields(f);
  emit(p);
}

// The fields !SparseGPTModifier and !WandaPruningModifier share.
void read_one_shot_pruning(FieldReader& f, OneShotPruningParams& p) {
  read_mask_kind(f, "mask_structure", p.mask);
  const bool n_of_m = p.mask.type == MaskKind::Type::NofM;
  const double most = p.mask.max_sparsity();
  // N:M prunes exactly M - N of every M, so its sparsity follows from it.
  if (n_of_m && !f.has("sparsity")) p.sparsity = most;
  else if (f.require("sparsity", "the fraction of each selected weight to prune, in [0, 1)") &&
           read_in_range(f, "sparsity", p.sparsity, 0.0, 1.0, false) && n_of_m &&
           std::abs(p.sparsity - most) > 1e-9)
    f.error("sparsity", "a " + p.mask.name() + " mask_structure prunes " + std::to_string(p.mask.m - p.mask.n) +
                            " of every " + std::to_string(p.mask.m) + " weights, a sparsity of exactly " + num(most) +
                            "; got " + num(p.sparsity) + ": set sparsity: " + num(most) +
                            (p.sparsity > most ? ", or use mask_structure \"0:0\" (unstructured) for a higher one"
                                               : ", or leave sparsity out"));
  if (f.has("targets")) read_params(f, "targets", p.targets, false);
  if (f.has("ignore")) read_params(f, "ignore", p.ignore, false);
  if (const auto v = f.integer("num_calibration_samples")) {
    if (*v < 1 || *v > kMaxCalibrationSteps)
      f.error("num_calibration_samples", "num_calibration_samples must be in [1, " + std::to_string(kMaxCalibrationSteps) +
                                             "] (training items the layers' inputs are taken from); got " + std::to_string(*v));
    else p.num_calibration_samples = *v;
  }
  logging_fields(f);
}

void parse_wanda(FieldReader& f, const Emit& emit) {
  WandaPruningParams p;
  read_one_shot_pruning(f, p);
  emit(p);
}

void parse_sparsegpt(FieldReader& f, const Emit& emit) {
  SparseGPTParams p;
  read_one_shot_pruning(f, p);
  if (const auto v = f.integer("block_size")) {
    // Masks are chosen a column block at a time, so whole groups and blocks must fit in one.
    const int64_t unit = p.mask.type == MaskKind::Type::NofM ? p.mask.m : p.mask.cols;
    if (*v < 1 || *v > (int64_t{1} << 20))
      f.error("block_size", "block_size must be in [1, 1048576] (columns updated together), got " + std::to_string(*v));
    else if (*v % unit != 0)
      f.error("block_size", "block_size (" + std::to_string(*v) + ") must be a multiple of " + std::to_string(unit) +
                                ", the width of a " + p.mask.name() + " unit; e.g. block_size: 128");
    else p.block_size = *v;
  }
  if (const auto v = f.number("dampening_frac")) {
    if (!(*v > 0 && *v <= 1))
      f.error("dampening_frac", "dampening_frac must be in (0, 1] (the share of mean(diag H) added to its diagonal), got " + num(*v));
    else p.dampening_frac = *v;
  }
  if (const auto v = f.boolean("sequential_update")) p.sequential_update = *v;
  if (f.has("quantize")) {
    if (!f.node("quantize").IsScalar())
      f.error("quantize", "quantize must be true or false: Sparrow takes the activations' settings from the recipe's "
                          "!QuantizationModifier, not from a mapping here");
    else if (const auto v = f.boolean("quantize")) p.quantize = *v;
  }
  emit(p);
}

const std::map<std::string, Parser>& parsers() {
  static const std::map<std::string, Parser> table = {
      {"EpochRangeModifier", parse_epoch_range},
      {"SetLearningRateModifier", parse_set_lr},
      {"LearningRateFunctionModifier", parse_lr_function},
      {"LearningRateModifier", parse_lr},
      {"SetWeightDecayModifier", parse_set_weight_decay},
      {"GMPruningModifier", parse_gm_pruning},
      {"MagnitudePruningModifier", parse_gm_pruning},
      {"GlobalMagnitudePruningModifier", parse_global_pruning},
      {"ConstantPruningModifier", parse_constant_pruning},
      {"LayerPruningModifier", parse_layer_pruning},
      {"HeadPruningModifier", structured_parser(Structure::Heads)},
      {"NeuronPruningModifier", structured_parser(Structure::Neurons)},
      {"ChannelPruningModifier", structured_parser(Structure::Channels)},
      {"QuantizationModifier", parse_quantization},
      {"DistillationModifier", parse_distillation},
      {"OutputDistillationModifier", parse_output_distillation},
      {"SparseGPTModifier", parse_sparsegpt},
      {"WandaPruningModifier", parse_wanda},
  };
  return table;
}

// SparseML modifiers Sparrow knows of but does not implement.
const std::vector<std::string>& sparseml_only_tags() {
  static const std::vector<std::string> tags = {
      "ACDCPruningModifier", "GradualParamModifier", "LayerThinningModifier", "LegacyQuantizationModifier",
      "MFACPruningModifier", "MovementPruningModifier", "OBSPruningModifier",
      "PerLayerDistillationModifier", "PowerpropagationModifier", "SetParamModifier",
      "StructuredPruningModifier", "ThinningModifier", "TopKASTPruningModifier", "TrainableParamsModifier",
      "SmoothQuantModifier", "GPTQModifier"};
  return tags;
}

std::string tag_list() {
  std::string list;
  for (const auto& t : modifier_tags()) list += " !" + t;
  return list;
}

}  // namespace

std::vector<std::string> modifier_tags() {
  std::vector<std::string> tags;
  for (const auto& kv : parsers()) tags.push_back(kv.first);
  return tags;
}

namespace {

// `name`: the tag without its '!' (empty when there is none); `at` locates the modifier.
void parse_modifier_fields(const ParseContext& ctx, const std::string& name, const YAML::Node& at, const YAML::Node& node,
                           const std::string& stage, std::vector<ModifierSpec>& out, bool tagged) {
  const auto it = parsers().find(name);
  if (it == parsers().end()) {
    const auto& sparseml = sparseml_only_tags();
    std::string msg = ctx.source.where(at) + ": ";
    const std::string sigil = tagged ? "!" : "";
    if (name.empty())
      msg += tagged ? "a modifier needs a tag (write e.g. '- !GMPruningModifier')"
                    : "a modifier mapping's keys are modifier names (e.g. SparseGPTModifier: {sparsity: 0.5})";
    else if (std::find(sparseml.begin(), sparseml.end(), name) != sparseml.end())
      msg += "!" + name + " is a SparseML modifier that Sparrow does not implement";
    else
      msg += "unknown modifier " + std::string(tagged ? "tag " : "") + "'" + sigil + name + "'" +
             did_you_mean(name, modifier_tags(), sigil);
    ctx.diag.error(msg + "; Sparrow reads:" + tag_list());
    return;
  }
  FieldReader fields(ctx, node, "!" + name);
  if (!node.IsMap() && !is_empty_node(node)) return;  // FieldReader reported it
  const std::string location = ctx.source.where(at);
  it->second(fields, [&](ModifierParams p) {
    // global_sparsity: true turns a GMPruningModifier into a global one; say so in its tag.
    const bool global = std::holds_alternative<GlobalMagnitudePruningParams>(p);
    out.push_back({global ? "GlobalMagnitudePruningModifier" : name, location, std::move(p), stage, ""});
  });
  fields.finish();
}

}  // namespace

void parse_modifier(const ParseContext& ctx, const YAML::Node& node, const std::string& stage,
                    std::vector<ModifierSpec>& out) {
  const std::string tag = node.Tag();
  const std::string name = tag.size() > 1 && tag[0] == '!' ? tag.substr(1) : "";
  parse_modifier_fields(ctx, name, node, node, stage, out, /*tagged=*/true);
}

void parse_named_modifier(const ParseContext& ctx, const YAML::Node& key, const YAML::Node& node,
                          const std::string& stage, std::vector<ModifierSpec>& out) {
  const std::string name = key.IsScalar() ? key.Scalar() : "";
  parse_modifier_fields(ctx, name, key, node, stage, out, /*tagged=*/false);
}

const std::vector<std::string>* pruning_params(const ModifierParams& p) {
  if (const auto* gm = std::get_if<GMPruningParams>(&p)) return &gm->params;
  if (const auto* global = std::get_if<GlobalMagnitudePruningParams>(&p)) return &global->params;
  if (const auto* c = std::get_if<ConstantPruningParams>(&p)) return &c->params;
  if (const auto* w = std::get_if<WandaPruningParams>(&p)) return &w->targets;
  if (const auto* g = std::get_if<SparseGPTParams>(&p)) return &g->targets;
  return nullptr;
}

std::pair<double, double> epoch_range(const ModifierParams& params) {
  return std::visit(
      [](const auto& p) -> std::pair<double, double> {
        using P = std::decay_t<decltype(p)>;
        if constexpr (std::is_same_v<P, SetWeightDecayParams>) return {p.start_epoch, -1.0};
        else if constexpr (std::is_base_of_v<OneShotPruningParams, P>) return {0.0, 0.0};  // once, before anything
        else return {p.start_epoch, p.end_epoch};
      },
      params);
}

}  // namespace sparrow::recipe
