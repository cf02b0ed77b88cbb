#include "models/classifier.h"

#include "core/errors.h"

namespace sparrow::models {

torch::Tensor Classifier::forward_with_hidden_states(const data::Batch&, std::vector<torch::Tensor>&) {
  throw BadInput("model '" + config().value("name", std::string("?")) + "' has no hidden states to distil (BERT has)");
}

void check_data_fits(Classifier& model, const data::Dataset& data) {
  if (data.size() == 0) throw BadInput(data.name + ": no items");
  const std::string what = data.name + ": items of shape " + c10::str(data.inputs[0].sizes()) + " do not fit model '" +
                           model.config().value("name", std::string("?")) + "' " + model.config().dump();
  torch::Tensor logits;
  {
    torch::NoGradGuard no_grad;
    const bool training = model.is_training();
    model.eval();
    try {
      logits = model.logits(data.batch(torch::zeros({1}, torch::kInt64)));
    } catch (const c10::Error& e) {
      model.train(training);
      throw BadInput(what + " (" + e.what_without_backtrace() + ")");
    }
    model.train(training);
  }
  const int64_t labels = data.labels.max().item<int64_t>() + 1;
  if (data.task == data::TaskKind::CausalLm) {
    // Next-token logits [B, T, vocab] whose vocabulary holds every token id of the data.
    if (logits.dim() != 3)
      throw BadInput(data.name + ": a text corpus trains a causal language model (model: llama); model '" +
                     model.config().value("name", std::string("?")) + "' gives logits of shape " + c10::str(logits.sizes()));
    if (logits.size(2) < labels)
      throw BadInput(data.name + ": token ids go up to " + std::to_string(labels - 1) + " but the model's vocabulary has " +
                     std::to_string(logits.size(2)) + " tokens");
    return;
  }
  if (logits.dim() != 2 || logits.size(1) < labels)
    throw BadInput(data.name + ": labels go up to " + std::to_string(labels - 1) + " but the model has " +
                   std::to_string(logits.size(-1)) + " outputs");
}

}  // namespace sparrow::models
