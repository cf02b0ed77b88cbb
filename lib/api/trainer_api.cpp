// The public trainer (include/sparrow/trainer.h): a user's module, wrapped as a zoo classifier, trained by
// compress::train.
#include "sparrow/trainer.h"

#include "compress/trainer.h"
#include "models/classifier.h"
#include "models/linear_hook.h"
#include "recipe/recipe.h"

namespace sparrow {
namespace {

// The user's module seen as a models::Classifier: its children and parameters registered under their own
// names (so recipes name them as named_parameters() does), its forward the user's function.
class UserModule : public models::Classifier {
 public:
  UserModule(torch::nn::Module& module, Forward forward) : forward_(std::move(forward)) {
    for (const auto& child : module.named_children()) register_module(child.key(), child.value());
    for (const auto& p : module.named_parameters(/*recurse=*/false)) register_parameter(p.key(), p.value());
    for (const auto& b : module.named_buffers(/*recurse=*/false)) register_buffer(b.key(), b.value());
  }

  torch::Tensor forward(const data::Batch& batch) override { return forward_(batch.inputs); }

  std::vector<std::string> prunable_parameters() const override {
    std::vector<std::string> names;
    for (const auto& m : named_modules("", /*include_self=*/false))
      if (m.value()->as<torch::nn::Linear>() != nullptr || m.value()->as<torch::nn::Conv2d>() != nullptr)
        names.push_back(m.key() + ".weight");
    return names;
  }

  nlohmann::json config() const override { return {{"name", "user_module"}}; }

 private:
  Forward forward_;
};

data::Dataset dataset(const TrainingData& d, const std::string& name) {
  if (!d.inputs.defined() || !d.labels.defined() || d.labels.dim() != 1 || d.inputs.dim() < 1 ||
      d.inputs.size(0) != d.labels.size(0))
    throw BadInput("sparrow::compress_module: the " + name + " data needs inputs [N, ...] and labels [N] of the same N");
  if (d.label_names.empty()) throw BadInput("sparrow::compress_module: the " + name + " data has no label_names");
  data::Dataset set;
  set.name = name;
  set.inputs = d.inputs;
  set.labels = d.labels.to(torch::kInt64);
  set.label_names = d.label_names;
  const auto [lo, hi] = set.labels.aminmax();
  if (lo.item<int64_t>() < 0 || hi.item<int64_t>() >= set.num_classes())
    throw BadInput("sparrow::compress_module: the " + name + " labels must lie in [0, " + std::to_string(set.num_classes()) + ")");
  return set;
}

// Sections that configure Sparrow's own pipeline (zoo model, built-in data, teacher, export, gates) mean
// nothing for a module and data the caller brings; refusing them beats ignoring them.
void check_recipe_fits(const recipe::Recipe& r) {
  std::vector<std::string> unused;
  if (!r.model.name.empty()) unused.push_back("model");
  if (r.teacher.defined()) unused.push_back("teacher");
  if (r.export_spec.enabled) unused.push_back("export");
  if (r.gates.any()) unused.push_back("gates");
  if (unused.empty()) return;
  std::string list;
  for (const auto& s : unused) list += (list.empty() ? "" : ", ") + s + ":";
  throw BadInput(r.file.string() + ": " + list + " configure the compress app's own runs; with sparrow::compress_module the "
                 "module, the data and what to do with the result are the caller's (remove those sections)");
}

bool has_quantization(const recipe::Recipe& r) {
  for (const auto& m : r.modifiers)
    if (std::holds_alternative<recipe::QuantizationParams>(m.params)) return true;
  return false;
}

}  // namespace

CompressResult compress_module(torch::nn::Module& module, const Forward& forward, const std::string& recipe_file,
                               const TrainingData& train, const TrainingData& test) {
  const recipe::Recipe recipe = recipe::load_recipe(recipe_file);
  check_recipe_fits(recipe);
  UserModule model(module, forward);
  const data::Dataset train_set = dataset(train, "train"), test_set = dataset(test, "test");
  models::check_data_fits(model, test_set);
  const compress::TrainResult t = compress::train(recipe, model, train_set, test_set);
  if (has_quantization(recipe) && t.quantized.empty())
    throw BadInput(recipe_file + ": the recipe quantizes, but no layer of the module went through sparrow::linear() or "
                   "sparrow::conv2d(); compute the layers to quantize with those in the forward");

  CompressResult r;
  r.dense_accuracy = t.dense_accuracy;
  r.accuracy = t.final_accuracy;
  r.sparsity = t.final_sparsity;
  for (const auto& e : t.epochs) r.epochs.push_back({e.epoch, e.loss, e.accuracy, e.lr, e.sparsity});
  const auto params = model.named_parameters();
  for (const auto& [name, mask] : t.pruned) {
    const torch::Tensor w = params[name];
    r.layers.push_back({name, mask, (w == 0).sum().item<double>() / static_cast<double>(w.numel())});
  }
  r.quantized = t.quantized;
  return r;
}

torch::Tensor linear(const torch::nn::Linear& layer, const torch::Tensor& x) { return models::linear(layer, x); }
torch::Tensor conv2d(const torch::nn::Conv2d& layer, const torch::Tensor& x) { return models::conv2d(layer, x); }

}  // namespace sparrow
