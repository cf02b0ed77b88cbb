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

// How a student's hidden state is compared with the teacher's, over the hidden units of the tokens an
// attention mask keeps: the mean squared error, or SquareHead's sum (t - s)^2 / sum t^2 (Kurtic et al.), an
// error relative to the teacher's own size, so that every layer weighs alike whatever its scale.
enum class HiddenStateComparison { Mse, SquareHead };

// The sum over the map's pairs of the comparison of student state s with teacher state t; `attention_mask`
// [B, L] (1 = token) selects the tokens, undefined: every position.
torch::Tensor compare_hidden_states(const std::vector<torch::Tensor>& student, const std::vector<torch::Tensor>& teacher,
                                    const LayerMap& map, const torch::Tensor& attention_mask, HiddenStateComparison comparison);

// !DistillationModifier's hidden-state loss: the mean over the map's pairs of their MSE.
torch::Tensor hidden_state_loss(const std::vector<torch::Tensor>& student, const std::vector<torch::Tensor>& teacher,
                                const LayerMap& map, const torch::Tensor& attention_mask);

}  // namespace sparrow::compress
