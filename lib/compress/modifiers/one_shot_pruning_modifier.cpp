#include "compress/modifiers/one_shot_pruning_modifier.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "compress/masks/magnitude_mask.h"
#include "compress/modifiers/constant_pruning_modifier.h"
#include "compress/one_shot_pruning/layer_hessians.h"
#include "compress/one_shot_pruning/sparsegpt.h"
#include "compress/one_shot_pruning/wanda.h"
#include "compress/param_selection.h"
#include "core/errors.h"

namespace sparrow::compress {

OneShotPruningModifier::OneShotPruningModifier(const recipe::SparseGPTParams& p, std::string location)
    : Modifier("SparseGPTModifier", 0.0, -1.0, -1.0), params_(p), location_(std::move(location)) {}

OneShotPruningModifier::OneShotPruningModifier(const recipe::WandaPruningParams& p, std::string location)
    : Modifier("WandaPruningModifier", 0.0, -1.0, -1.0), params_(p), location_(std::move(location)) {}

const recipe::OneShotPruningParams& OneShotPruningModifier::common() const {
  return std::visit([](const auto& p) -> const recipe::OneShotPruningParams& { return p; }, params_);
}

std::vector<std::string> OneShotPruningModifier::selected(const models::Classifier& model) const {
  auto names = select_parameters(model, common().targets, location_);
  if (!common().ignore.empty()) {
    const auto ignored = select_parameters(model, common().ignore, location_);
    names.erase(std::remove_if(names.begin(), names.end(),
                               [&](const std::string& n) { return std::find(ignored.begin(), ignored.end(), n) != ignored.end(); }),
                names.end());
  }
  if (names.empty()) throw BadInput(location_ + ": !" + tag() + ": ignore leaves none of the targets to prune");
  return names;
}

void OneShotPruningModifier::on_initialize(TrainState& state) {
  for (const auto& name : selected(state.model)) check_mask_fits(common().mask, name, parameter(state.model, name), location_);
}

void OneShotPruningModifier::on_start(TrainState& state, double) {
  if (!state.calibration)
    throw InternalError(location_ + ": !" + tag() + " started without calibration batches (one_shot_calibration)");
  const auto names = selected(state.model);
  // The run's calibration batches hold the most items any modifier asks for; this one takes its own first ones.
  std::vector<data::Batch> calibration;
  int64_t left = common().num_calibration_samples;
  for (const auto& b : *state.calibration) {
    if (left <= 0) break;
    const int64_t n = std::min(left, b.inputs.size(0));
    const auto first = [n](const torch::Tensor& t) { return t.defined() ? t.slice(0, 0, n) : t; };
    calibration.push_back({first(b.inputs), first(b.attention_mask), first(b.labels)});
    left -= n;
  }
  const auto* gpt = std::get_if<recipe::SparseGPTParams>(&params_);
  const auto& p = common();
  spdlog::info("{}: pruning {} layers to {:.4f} ({}){} on {} calibration items", tag(), names.size(), p.sparsity, p.mask.name(),
               gpt && gpt->quantize ? " and rounding their weights to INT8 (GPTQ)" : "", p.num_calibration_samples);
  const auto started = std::chrono::steady_clock::now();
  double error_estimate = 0;
  prune_with_hessians(
      state.model, calibration, names, gpt ? gpt->sequential_update : false, location_,
      [&](const std::string& name, torch::Tensor& weight, const torch::Tensor& hessian) {
        const auto layer_started = std::chrono::steady_clock::now();
        torch::NoGradGuard no_grad;
        if (gpt) {
          const auto r = sparsegpt_prune(weight, hessian, {p.sparsity, p.mask, gpt->block_size, gpt->dampening_frac, gpt->quantize}, name);
          weight.copy_(r.weight);
          masks_[name] = r.mask;
          error_estimate += r.error_estimate;
          spdlog::debug("{}: {} error estimate {:.6g}", tag(), name, r.error_estimate);
        } else {
          masks_[name] = wanda_mask(weight, hessian, p.sparsity, p.mask);
          weight.mul_(masks_[name]);
        }
        spdlog::info("{}: {} [{} x {}] pruned to {:.4f} in {:.2f} s", tag(), name, weight.size(0), weight.size(1),
                     zero_fraction(weight),
                     std::chrono::duration<double>(std::chrono::steady_clock::now() - layer_started).count());
      });
  spdlog::info("{}: {} layers in {:.1f} s{}", tag(), names.size(),
               std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(),
               gpt ? fmt::format("; summed error estimate {:.6g}", error_estimate) : "");
}

std::vector<std::pair<std::string, std::string>> OneShotPruningModifier::pruned_parameters() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& kv : masks_) out.emplace_back(kv.first, common().mask.name());
  return out;
}

void OneShotPruningModifier::on_step(TrainState& state, const Event& event) { hold_masks(state, event, masks_); }

nlohmann::json OneShotPruningModifier::on_save_state(std::map<std::string, torch::Tensor>& tensors) const {
  return save_masks(masks_, tensors);
}

void OneShotPruningModifier::on_restore_state(TrainState&, const nlohmann::json& saved,
                                              const std::map<std::string, torch::Tensor>& tensors) {
  masks_ = restore_masks(saved, tensors);
}

}  // namespace sparrow::compress
