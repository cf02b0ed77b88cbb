#pragma once
// Hidden-state distillation for students with fewer layers than their
// teacher: which student hidden state imitates which teacher hidden state,
// and the mean squared error between them.
#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

namespace sparrow::compress {

// Pairs of (student, teacher) hidden-state indices; index 0 is the embeddings'
// output, index i + 1 encoder layer i's (the order models::Classifier gives).
using LayerMap = std::vector<std::pair<int64_t, int64_t>>;

// Embeddings with embeddings, then student layer i with teacher layer
// round((i + 1) * teacher_layers / student_layers) - 1: evenly spaced, the
// last layers always paired.
LayerMap default_layer_map(int64_t student_layers, int64_t teacher_layers);

// The hidden-state index a name denotes: "bert.embeddings" 0, "bert.encoder.layer.N" N + 1.
int64_t hidden_state_index(const std::string& name);

// Mean over the map's pairs of MSE(student state, teacher state), the error
// averaged over the hidden units of the tokens `attention_mask` keeps ([B, L],
// 1 = token; undefined: every position).
torch::Tensor hidden_state_loss(const std::vector<torch::Tensor>& student, const std::vector<torch::Tensor>& teacher,
                                const LayerMap& map, const torch::Tensor& attention_mask);

}  // namespace sparrow::compress
