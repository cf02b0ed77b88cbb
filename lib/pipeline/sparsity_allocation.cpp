#include "pipeline/sparsity_allocation.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <utility>

#include "core/errors.h"

namespace sparrow::pipeline {

namespace {

using nlohmann::json;

// One layer's choices: index 0 is dense, then the measured sparsities in increasing order.
struct Levels {
  std::vector<double> sparsity, loss_change, time_s;
};

std::string target_flag(const AllocationTarget& t) {
  return t.kind == AllocationTarget::Kind::sparsity ? "--target-sparsity" : "--target-speedup";
}

}  // namespace

Allocation allocate_sparsities(const json& analysis, const std::string& mask, const std::vector<std::string>& layers,
                               const AllocationTarget& target) {
  Allocation a;
  a.mask = mask;
  a.target = target;
  a.dense_loss = analysis.at("dense").at("loss").get<double>();

  std::map<std::string, std::pair<std::int64_t, std::int64_t>> shape_of;  // layer -> GEMM [n, k]
  std::vector<std::string> order;
  for (const json& l : analysis.at("layers")) {
    const auto shape = l.at("shape").get<std::vector<std::int64_t>>();
    std::int64_t k = 1;
    for (std::size_t i = 1; i < shape.size(); ++i) k *= shape[i];
    shape_of[l.at("name").get<std::string>()] = {shape.at(0), k};
    order.push_back(l.at("name").get<std::string>());
  }
  for (const auto& name : layers)
    if (!shape_of.count(name)) throw BadInput("--write-recipe: the analysis has no layer '" + name + "'");

  std::map<std::string, std::map<double, double>> loss_at;  // layer -> sparsity -> loss change
  for (const json& p : analysis.at("sensitivity"))
    if (p.at("mask") == mask)
      loss_at[p.at("layer").get<std::string>()][p.at("sparsity").get<double>()] = p.at("loss").get<double>() - a.dense_loss;
  struct ShapeTimes {
    double dense_int8 = 0, dense_fp32 = 0;
    std::map<double, double> sparse;
  };
  std::map<std::pair<std::int64_t, std::int64_t>, ShapeTimes> times;
  for (const json& p : analysis.at("timing"))
    if (p.at("mask") == mask) {
      ShapeTimes& t = times[{p.at("n").get<std::int64_t>(), p.at("k").get<std::int64_t>()}];
      t.dense_int8 = p.at("dense_int8_s").get<double>();
      t.dense_fp32 = p.at("dense_fp32_s").get<double>();
      t.sparse[p.at("sparsity").get<double>()] = p.at("sparse_int8_s").get<double>();
    }
  if (loss_at.empty()) throw BadInput("--write-recipe: the analysis has no measurements of mask " + mask + " (analyse it with --mask)");

  std::vector<Levels> levels;
  for (const auto& name : order) {
    if (!layers.empty() && std::find(layers.begin(), layers.end(), name) == layers.end()) continue;
    const auto shape = shape_of[name];
    const auto t = times.find(shape);
    if (!loss_at.count(name) || t == times.end())
      throw BadInput("--write-recipe: the analysis measured no " + mask + " sensitivity or timing for " + name);
    Levels lv{{0.0}, {0.0}, {t->second.dense_int8}};
    for (const auto& [s, change] : loss_at[name]) {
      const auto st = t->second.sparse.find(s);
      if (st == t->second.sparse.end()) continue;
      lv.sparsity.push_back(s);
      lv.loss_change.push_back(change);
      lv.time_s.push_back(st->second);
    }
    levels.push_back(std::move(lv));
    LayerAllocation la;
    la.layer = name;
    la.params = shape.first * shape.second;
    la.dense_fp32_s = t->second.dense_fp32;
    a.layers.push_back(la);
  }
  if (a.layers.empty()) throw BadInput("--write-recipe: no layer of the analysis to allocate");

  std::vector<std::size_t> at(a.layers.size(), 0);  // each layer's chosen level
  double params_total = 0;
  for (const auto& l : a.layers) params_total += static_cast<double>(l.params);
  // The speed model: the engine takes other + scale * (fixed + the chosen layers' kernel times), against
  // baseline. With the whole model timed: baseline is LibTorch FP32; the engine's linear time is read as
  // C + scale * (the analysed layers' kernel times), C and scale fitted through its two timed points (every
  // layer dense INT8, every layer at the pruned point's sparsity); other is the engine's time outside linear
  // ops (the two points' mean) plus C; fixed is the analysed layers not allocated (dense INT8). Otherwise the
  // chosen layers alone against their dense FP32 times.
  double baseline = 0, other = 0, scale = 1, fixed = 0;
  if (analysis.contains("model_timing")) {
    const json& mt = analysis["model_timing"];
    const json &dense = mt.at("dense"), &pruned = mt.at("pruned");
    const double s_ref = pruned.at("sparsity").get<double>();
    if (pruned.at("mask").get<std::string>() != mask)
      throw BadInput("--write-recipe: the analysis timed the whole model pruned with " + pruned.at("mask").get<std::string>() +
                     ", not " + mask + " (list " + mask + " first in --mask)");
    double k_dense = 0, k_ref = 0;
    for (const auto& name : order) {
      const ShapeTimes& t = times.at(shape_of[name]);
      k_dense += t.dense_int8;
      const auto at_ref = t.sparse.find(s_ref);
      if (at_ref == t.sparse.end())
        throw BadInput(fmt::format("--write-recipe: the analysis timed the model at {} {:g} but not {}'s kernel there",
                                   pruned.at("mask").get<std::string>(), s_ref, name));
      k_ref += at_ref->second;
      if (std::none_of(a.layers.begin(), a.layers.end(), [&](const LayerAllocation& l) { return l.layer == name; }))
        fixed += t.dense_int8;
    }
    const double e_dense = dense.at("linear_s").get<double>(), e_ref = pruned.at("linear_s").get<double>();
    scale = k_dense > k_ref ? (e_dense - e_ref) / (k_dense - k_ref) : 0;
    double c = e_dense - scale * k_dense;
    // A fit the noise turned upside down: the linear time proportional to the kernels' instead.
    if (scale <= 0 || c < 0) {
      scale = k_dense > 0 ? e_dense / k_dense : 1;
      c = 0;
    }
    baseline = mt.at("fp32_s").get<double>();
    other = (dense.at("total_s").get<double>() - e_dense + pruned.at("total_s").get<double>() - e_ref) / 2 + c;
    a.whole_model = true;
  } else {
    for (const auto& l : a.layers) baseline += l.dense_fp32_s;
  }
  const auto speedup = [&](double layer_time) { return baseline / (other + scale * (fixed + layer_time)); };
  const auto reached = [&](const std::vector<std::size_t>& idx) {
    double value = 0;
    if (target.kind == AllocationTarget::Kind::sparsity) {
      for (std::size_t i = 0; i < idx.size(); ++i) value += static_cast<double>(a.layers[i].params) * levels[i].sparsity[idx[i]];
      return value / params_total;
    }
    for (std::size_t i = 0; i < idx.size(); ++i) value += levels[i].time_s[idx[i]];
    return speedup(value);
  };
  // Within rounding of the figures the target is written with.
  const auto met = [&](const std::vector<std::size_t>& idx) { return reached(idx) >= target.value * (1 - 1e-9); };

  // The best any choice reaches: every layer at its sparsest (sparsity) or fastest (speed-up) level.
  std::vector<std::size_t> best(a.layers.size());
  for (std::size_t i = 0; i < best.size(); ++i) {
    const auto& lv = levels[i];
    best[i] = target.kind == AllocationTarget::Kind::sparsity
                  ? lv.sparsity.size() - 1
                  : static_cast<std::size_t>(std::min_element(lv.time_s.begin(), lv.time_s.end()) - lv.time_s.begin());
  }
  if (!met(best))
    throw BadInput(fmt::format("{} {:g} cannot be met: with every layer at its {} measured {} level the analysis reaches {:.4g}{}; "
                               "analyse higher --sparsities or choose a lower target",
                               target_flag(target), target.value,
                               target.kind == AllocationTarget::Kind::sparsity ? "sparsest" : "fastest", mask, reached(best),
                               target.kind == AllocationTarget::Kind::sparsity ? " average sparsity"
                               : a.whole_model ? "x over LibTorch FP32 for the whole model"
                                               : "x over dense FP32"));

  // What the chosen levels must gain together: parameters removed, or engine seconds saved against every
  // layer dense in INT8.
  const bool by_sparsity = target.kind == AllocationTarget::Kind::sparsity;
  double dense_time = 0;
  for (const auto& lv : levels) dense_time += lv.time_s[0];
  const double needed = by_sparsity ? target.value * params_total : dense_time - ((baseline / target.value - other) / scale - fixed);
  const auto gain = [&](std::size_t i, std::size_t j) {
    return by_sparsity ? static_cast<double>(a.layers[i].params) * levels[i].sparsity[j] : levels[i].time_s[0] - levels[i].time_s[j];
  };
  if (needed <= 0) {
    // Dense INT8 already meets the speed-up: each layer takes its least loss among the levels no slower.
    for (std::size_t i = 0; i < at.size(); ++i)
      for (std::size_t j = 1; j < levels[i].sparsity.size(); ++j)
        if (gain(i, j) >= 0 && levels[i].loss_change[j] < levels[i].loss_change[at[i]]) at[i] = j;
  } else {
    // Gains in steps of needed / kSteps, each rounded down, the sum capped at kSteps; loss[b] is the least
    // predicted loss change reaching b steps with the layers so far. Rounding down loses less than a step per
    // layer, so a choice at kSteps meets the target and one within `layers` steps below it may: those are
    // checked exactly, the least loss first.
    constexpr std::size_t kSteps = 10000;
    const double step = needed / kSteps;
    const double inf = std::numeric_limits<double>::infinity();
    std::vector<double> loss(kSteps + 1, inf);
    loss[0] = 0;
    std::vector<std::vector<std::uint32_t>> from(at.size()), level(at.size());
    for (std::size_t i = 0; i < at.size(); ++i) {
      std::vector<double> next(kSteps + 1, inf);
      from[i].assign(kSteps + 1, 0);
      level[i].assign(kSteps + 1, 0);
      for (std::size_t b = 0; b <= kSteps; ++b) {
        if (loss[b] == inf) continue;
        for (std::size_t j = 0; j < levels[i].sparsity.size(); ++j) {
          const double g = gain(i, j);
          if (g < 0) continue;  // slower than dense INT8: never chosen for speed
          const std::size_t nb = std::min<std::size_t>(kSteps, b + static_cast<std::size_t>(std::floor(g / step)));
          const double l = loss[b] + levels[i].loss_change[j];
          if (l < next[nb]) {
            next[nb] = l;
            from[i][nb] = static_cast<std::uint32_t>(b);
            level[i][nb] = static_cast<std::uint32_t>(j);
          }
        }
      }
      loss.swap(next);
    }
    std::vector<std::size_t> ends;
    for (std::size_t b = kSteps - std::min(kSteps, at.size()); b <= kSteps; ++b)
      if (loss[b] != inf) ends.push_back(b);
    std::stable_sort(ends.begin(), ends.end(), [&](std::size_t x, std::size_t y) { return loss[x] < loss[y]; });
    bool found = false;
    for (const std::size_t end : ends) {
      std::vector<std::size_t> trial(at.size());
      for (std::size_t i = at.size(), b = end; i-- > 0;) {
        trial[i] = level[i][b];
        b = from[i][b];
      }
      if (met(trial)) {
        at = trial;
        found = true;
        break;
      }
    }
    if (!found) throw InternalError("sparsity allocation: a reachable target was not reached");
  }
  if (!met(at)) throw InternalError("sparsity allocation: the chosen levels miss the target");

  a.predicted_loss = a.dense_loss;
  for (std::size_t i = 0; i < at.size(); ++i) {
    a.layers[i].sparsity = levels[i].sparsity[at[i]];
    a.layers[i].loss_change = levels[i].loss_change[at[i]];
    a.layers[i].time_s = levels[i].time_s[at[i]];
    a.predicted_loss += a.layers[i].loss_change;
  }
  double pruned = 0, time = 0;
  for (const auto& l : a.layers) {
    pruned += static_cast<double>(l.params) * l.sparsity;
    time += l.time_s;
  }
  a.sparsity = pruned / params_total;
  a.predicted_speedup = speedup(time);
  return a;
}

json allocation_json(const Allocation& a) {
  json layers = json::array();
  for (const auto& l : a.layers)
    layers.push_back({{"layer", l.layer},
                      {"params", l.params},
                      {"sparsity", l.sparsity},
                      {"loss_change", l.loss_change},
                      {"time_s", l.time_s},
                      {"dense_fp32_s", l.dense_fp32_s}});
  return {{"mask", a.mask},
          {"target",
           {{"kind", a.target.kind == AllocationTarget::Kind::sparsity ? "sparsity" : "speedup"}, {"value", a.target.value}}},
          {"sparsity", a.sparsity},
          {"dense_loss", a.dense_loss},
          {"predicted_loss", a.predicted_loss},
          {"predicted_speedup", a.predicted_speedup},
          {"whole_model", a.whole_model},
          {"layers", layers}};
}

}  // namespace sparrow::pipeline
