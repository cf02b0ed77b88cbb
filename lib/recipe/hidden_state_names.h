#pragma once
// The names a recipe gives a transformer's hidden states (distillation targets), as Hugging Face names the
// modules whose outputs they are: index 0 is the embeddings' output, index i + 1 layer i's, in the order
// models return them (output_hidden_states).
//   BERT:  bert.embeddings, bert.encoder.layer.N
//   Llama: model.embed_tokens, model.layers.N (the last layer's state is taken after the final norm)
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sparrow::recipe {

// The hidden-state index a name denotes; nullopt when it is none of the names above (N has at most six digits:
// whether the model has that layer is checked against the model).
std::optional<int64_t> hidden_state_index(const std::string& name);

// The names of a model's num_layers + 1 hidden states; `family` is "bert" or "llama".
std::vector<std::string> hidden_state_names(const std::string& family, int64_t num_layers);

}  // namespace sparrow::recipe
