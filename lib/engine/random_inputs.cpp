#include "engine/random_inputs.h"

#include <random>

namespace sparrow::engine {

RandomInputs random_inputs(const Model& model, std::size_t batch, std::size_t seq) {
  RandomInputs r;
  std::mt19937 rng(0);
  if (model.is_text()) {
    std::uniform_int_distribution<std::int64_t> token(5, static_cast<std::int64_t>(model.tokenizer()->size()) - 1);
    for (std::size_t i = 0; i < batch * seq; ++i) r.ids.push_back(token(rng));
    r.mask.assign(batch * seq, 1);
    for (const auto& in : model.inputs())
      r.inputs.push_back(model.values()[in.value].name == "attention_mask" ? r.mask.data() : r.ids.data());
  } else {
    std::normal_distribution<float> value;
    for (std::size_t i = 0; i < batch * model.item_elements(); ++i) r.images.push_back(value(rng));
    r.inputs.push_back(r.images.data());
  }
  return r;
}

}  // namespace sparrow::engine
