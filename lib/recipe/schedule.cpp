#include "recipe/schedule.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "core/errors.h"
#include "recipe/expression.h"
#include "recipe/limits.h"
#include "recipe/gmp_schedule.h"
#include "recipe/modifier_parsers.h"

namespace sparrow::recipe {

namespace {

constexpr double kEps = 1e-9;  // epochs are sums of fractions: compare with slack
constexpr double kPi = 3.14159265358979323846;

bool active(double start, double end, double epoch) {
  return epoch + kEps >= start && (end < 0 || epoch + kEps < end);
}

}  // namespace

double lr_function(const LearningRateFunctionParams& p, double epoch) {
  const double span = p.end_epoch - p.start_epoch;
  const double t = std::clamp(epoch - p.start_epoch, 0.0, span);
  switch (p.lr_func) {
    case LrFunc::Linear: return p.init_lr + (p.final_lr - p.init_lr) * t / span;
    case LrFunc::Cosine: return p.final_lr + 0.5 * (p.init_lr - p.final_lr) * (1.0 + std::cos(kPi * t / span));
    case LrFunc::CyclicLinear: {
      const double cycle = p.cycle_epochs > 0 ? p.cycle_epochs : span;
      double phase = std::fmod(t, cycle);
      if (t >= span - kEps && phase < kEps) phase = cycle;  // the end of the last cycle, not a restart
      return p.init_lr + (p.final_lr - p.init_lr) * phase / cycle;
    }
  }
  return p.init_lr;
}

double lr_scheduler(const LearningRateParams& p, double epoch) {
  const double t = p.end_epoch >= 0 ? std::min(epoch, p.end_epoch) : epoch;
  double decays = 0;
  switch (p.lr_class) {
    case LrClass::StepLR: decays = std::floor((t - p.start_epoch) / p.step_size + kEps); break;
    case LrClass::ExponentialLR: decays = std::floor(t - p.start_epoch + kEps); break;
    case LrClass::MultiStepLR:
      decays = static_cast<double>(
          std::count_if(p.milestones.begin(), p.milestones.end(), [&](double m) { return m <= t + kEps; }));
      break;
  }
  return p.init_lr * std::pow(p.gamma, std::max(0.0, decays));
}

namespace {

std::string cell(const std::optional<double>& v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6f", *v);
  return buf;
}

const std::vector<std::string>& named_layers(const ModifierSpec& m) {
  static const std::vector<std::string> none;
  const auto* named = std::get_if<LayerPruningParams>(&m.params);
  return named ? named->layers : none;
}

const char* structure_name(Structure s) {
  switch (s) {
    case Structure::Heads: return "heads";
    case Structure::Neurons: return "neurons";
    case Structure::Channels: return "channels";
    case Structure::Layers: return "layers";
  }
  return "";
}

// What a structured pruning modifier removes, in words (the plan's legend).
std::string structured_summary(const ModifierSpec& m) {
  const StructuredPruningParams& p = *structured_params(m.params);
  std::string out;
  if (!named_layers(m).empty()) {
    out = "removes";
    for (const auto& l : named_layers(m)) out += " " + l;
    return out;
  }
  out = "removes " + format_number(p.final_sparsity) + " of the " + structure_name(p.structure) + " of ";
  if (p.modules.empty()) out += "every group";
  for (size_t i = 0; i < p.modules.size(); ++i) out += (i ? ", " : "") + p.modules[i];
  return out + ", lowest " + (p.score == UnitScore::FirstOrder ? "first-order importance" : "magnitude") + " first";
}

// A column of the text table, right-aligned.
std::string column(const std::string& c) { return "  " + std::string(c.size() < 10 ? 10 - c.size() : 0, ' ') + c; }

const char* qat_name(QatState s) {
  switch (s) {
    case QatState::Off: return "off";
    case QatState::Training: return "on";
    case QatState::ObserversFrozen: return "frozen";
  }
  return "off";
}

}  // namespace

double learning_rate_at(const Recipe& recipe, double epoch) {
  std::vector<const ModifierSpec*> lr_modifiers;
  for (const auto& m : recipe.modifiers)
    if (std::holds_alternative<SetLearningRateParams>(m.params) ||
        std::holds_alternative<LearningRateFunctionParams>(m.params) ||
        std::holds_alternative<LearningRateParams>(m.params))
      lr_modifiers.push_back(&m);
  std::stable_sort(lr_modifiers.begin(), lr_modifiers.end(), [](const ModifierSpec* a, const ModifierSpec* b) {
    return epoch_range(a->params).first < epoch_range(b->params).first;
  });
  double lr = recipe.train.lr;
  for (const ModifierSpec* m : lr_modifiers) {
    if (epoch + kEps < epoch_range(m->params).first) break;
    if (const auto* set = std::get_if<SetLearningRateParams>(&m->params)) lr = set->learning_rate;
    if (const auto* f = std::get_if<LearningRateFunctionParams>(&m->params)) lr = lr_function(*f, epoch);
    if (const auto* s = std::get_if<LearningRateParams>(&m->params)) lr = lr_scheduler(*s, epoch);
  }
  return lr;
}

std::optional<double> sparsity_at(const ModifierParams& params, double epoch) {
  const GMPruningParams* p = std::get_if<GMPruningParams>(&params);
  if (const auto* g = std::get_if<GlobalMagnitudePruningParams>(&params)) p = g;
  if (!p || epoch + kEps < p->start_epoch) return std::nullopt;
  if (!p->leave_enabled && p->end_epoch >= 0 && epoch + kEps >= p->end_epoch) return std::nullopt;
  return target_sparsity(*p, epoch);
}

const StructuredPruningParams* structured_params(const ModifierParams& params) {
  if (const auto* layers = std::get_if<LayerPruningParams>(&params)) return layers;
  return std::get_if<StructuredPruningParams>(&params);
}

std::optional<double> removed_fraction_at(const ModifierParams& params, double epoch, double epochs) {
  const StructuredPruningParams* structured = structured_params(params);
  if (!structured || epoch + kEps < structured->start_epoch) return std::nullopt;
  const StructuredPruningParams& p = *structured;
  if (const auto* named = std::get_if<LayerPruningParams>(&params); named && !named->layers.empty()) return 1.0;
  const double end = p.end_epoch >= 0 ? p.end_epoch : epochs;
  double last_update = p.start_epoch;
  if (epoch + kEps >= end) last_update = end;
  else if (p.update_frequency > 0)
    last_update = p.start_epoch + std::floor((epoch - p.start_epoch) / p.update_frequency + kEps) * p.update_frequency;
  GMPruningParams curve;
  curve.start_epoch = p.start_epoch;
  curve.end_epoch = end;
  curve.init_sparsity = p.init_sparsity;
  curve.final_sparsity = p.final_sparsity;
  curve.inter_func = p.inter_func;
  return target_sparsity(curve, last_update);
}

bool holds_mask_at(const ModifierParams& params, double epoch) {
  if (const auto* c = std::get_if<ConstantPruningParams>(&params)) return active(c->start_epoch, c->end_epoch, epoch);
  return sparsity_at(params, epoch).has_value();
}

QatState quantization_at(const Recipe& recipe, double epoch) {
  QatState state = QatState::Off;
  for (const auto& m : recipe.modifiers)
    if (const auto* q = std::get_if<QuantizationParams>(&m.params); q && active(q->start_epoch, q->end_epoch, epoch)) {
      const bool frozen = q->disable_quantization_observer_epoch >= 0 && epoch + kEps >= q->disable_quantization_observer_epoch;
      state = frozen ? QatState::ObserversFrozen : QatState::Training;
    }
  return state;
}

bool distillation_at(const Recipe& recipe, double epoch) {
  return std::any_of(recipe.modifiers.begin(), recipe.modifiers.end(), [&](const ModifierSpec& m) {
    if (const auto* d = std::get_if<DistillationParams>(&m.params)) return active(d->start_epoch, d->end_epoch, epoch);
    const auto* o = std::get_if<OutputDistillationParams>(&m.params);
    return o && active(o->start_epoch, o->end_epoch, epoch);
  });
}

Schedule make_schedule(const Recipe& recipe, double step) {
  Schedule s;
  s.epochs = planned_epochs(recipe);
  for (const auto& m : recipe.modifiers)
    if (pruning_params(m.params)) s.pruning.push_back(&m);
    else if (structured_params(m.params)) s.structured.push_back(&m);
  // Counted before any row is made: a recipe's epochs are bounded, but a tiny step still asks for millions.
  const double whole = std::floor(s.epochs / step + kEps);
  if (!(whole < static_cast<double>(kMaxScheduleRows)))
    throw BadInput("a plan over " + format_number(s.epochs) + " epochs with a row every " + format_number(step) +
                   " epochs would have more than the " + std::to_string(kMaxScheduleRows) +
                   " rows a plan may have; use a step of at least " +
                   format_number(s.epochs / static_cast<double>(kMaxScheduleRows - 1)));
  std::vector<double> epochs;
  const auto whole_steps = static_cast<int64_t>(whole);
  for (int64_t k = 0; k <= whole_steps; ++k) epochs.push_back(static_cast<double>(k) * step);
  if (s.epochs - epochs.back() > kEps) epochs.push_back(s.epochs);
  for (const double e : epochs) {
    ScheduleRow row;
    row.epoch = e;
    row.lr = learning_rate_at(recipe, e);
    for (const ModifierSpec* m : s.pruning) {
      row.sparsity.push_back(sparsity_at(m->params, e));
      row.holding.push_back(holds_mask_at(m->params, e));
    }
    for (const ModifierSpec* m : s.structured) row.removed.push_back(removed_fraction_at(m->params, e, s.epochs));
    row.qat = quantization_at(recipe, e);
    row.distillation = distillation_at(recipe, e);
    s.rows.push_back(std::move(row));
  }
  return s;
}

nlohmann::json schedule_json(const Schedule& s) {
  using nlohmann::json;
  json pruning = json::array();
  for (const ModifierSpec* m : s.pruning)
    pruning.push_back({{"tag", m->tag}, {"location", m->location}, {"params", *pruning_params(m->params)}});
  json structured = json::array();
  for (const ModifierSpec* m : s.structured) {
    const StructuredPruningParams& p = *structured_params(m->params);
    json entry = {{"tag", m->tag}, {"location", m->location}, {"structure", structure_name(p.structure)}};
    if (!named_layers(*m).empty()) {
      entry["layers"] = named_layers(*m);
    } else {
      entry["modules"] = p.modules;
      entry["final_sparsity"] = p.final_sparsity;
      entry["score"] = p.score == UnitScore::FirstOrder ? "first_order" : "magnitude";
    }
    structured.push_back(entry);
  }
  json rows = json::array();
  for (const auto& r : s.rows) {
    json sparsity = json::array();
    for (size_t i = 0; i < r.sparsity.size(); ++i)
      sparsity.push_back(r.sparsity[i] ? json(*r.sparsity[i]) : r.holding[i] ? json("keep") : json(nullptr));
    json removed = json::array();
    for (size_t i = 0; i < r.removed.size(); ++i) {
      const auto& named = named_layers(*s.structured[i]);
      removed.push_back(!r.removed[i] ? json(nullptr) : named.empty() ? json(*r.removed[i]) : json(named));
    }
    rows.push_back({{"epoch", r.epoch},
                    {"lr", r.lr},
                    {"sparsity", sparsity},
                    {"removed", removed},
                    {"quantization", qat_name(r.qat)},
                    {"distillation", r.distillation}});
  }
  return {{"epochs", s.epochs}, {"pruning", pruning}, {"structured", structured}, {"rows", rows}};
}

std::string schedule_text(const Schedule& s) {
  std::ostringstream out;
  out << "Plan over " << format_number(s.epochs) << " epochs. Pruning modifiers:\n";
  if (s.pruning.empty()) out << "  (none)\n";
  for (size_t i = 0; i < s.pruning.size(); ++i) {
    const ModifierSpec& m = *s.pruning[i];
    out << "  [" << i + 1 << "] !" << m.tag << " at " << m.location << ":";
    for (const auto& p : *pruning_params(m.params)) out << " " << p;
    out << "\n";
  }
  // Structured modifiers are numbered after the others; their cells are the fraction of each group's units removed.
  if (!s.structured.empty()) out << "Structured pruning modifiers (cells: fraction of each group's units removed):\n";
  for (size_t i = 0; i < s.structured.size(); ++i) {
    const ModifierSpec& m = *s.structured[i];
    out << "  [" << s.pruning.size() + i + 1 << "] !" << m.tag << " at " << m.location << ": " << structured_summary(m) << "\n";
  }
  out << "\n   epoch            lr";
  for (size_t i = 0; i < s.pruning.size() + s.structured.size(); ++i) out << column("[" + std::to_string(i + 1) + "]");
  out << "  quantization  distillation\n";
  for (const auto& r : s.rows) {
    char head[64];
    std::snprintf(head, sizeof head, "%8.3f  %12.6g", r.epoch, r.lr);
    out << head;
    for (size_t i = 0; i < r.sparsity.size(); ++i) {
      out << column(r.sparsity[i] ? cell(r.sparsity[i]) : r.holding[i] ? "keep" : "-");
    }
    for (size_t i = 0; i < r.removed.size(); ++i)
      out << column(!r.removed[i] ? "-" : named_layers(*s.structured[i]).empty() ? cell(r.removed[i]) : "removed");
    char tail[64];
    std::snprintf(tail, sizeof tail, "  %12s  %12s", qat_name(r.qat), r.distillation ? "on" : "off");
    out << tail << "\n";
  }
  return out.str();
}

}  // namespace sparrow::recipe
