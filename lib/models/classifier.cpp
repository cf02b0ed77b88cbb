#include "models/classifier.h"

#include "core/errors.h"

namespace sparrow::models {

torch::Tensor Classifier::forward_with_hidden_states(const data::Batch&, std::vector<torch::Tensor>&) {
  throw BadInput("model '" + config().value("name", std::string("?")) + "' has no hidden states to distil (BERT has)");
}

}  // namespace sparrow::models
