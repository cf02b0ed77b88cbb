// Hidden-state distillation: BERT's hidden states, the layer map, the MSE term
// against a hand computation, and a 2-layer student getting gradient from a
// 4-layer teacher through it.
#include <catch2/catch.hpp>

#include "compress/modifiers/distillation_hidden_states.h"
#include "compress/modifiers/distillation_modifier.h"
#include "support/small_models.h"

using namespace sparrow;
using namespace sparrow::compress;

namespace {

std::shared_ptr<models::bert::BertForSequenceClassification> tiny_bert_with(int64_t layers, double weight_std) {
  testing::TinyBert s;
  s.config.num_hidden_layers = layers;
  s.weight_std = weight_std;
  return testing::tiny_bert(s);
}

// Two sequences of 6 positions, the second with 2 padding positions.
data::Batch tiny_batch() {
  data::Batch b;
  b.inputs = torch::tensor({{2, 7, 9, 11, 13, 3}, {2, 8, 10, 3, 0, 0}}, torch::kInt64);
  b.attention_mask = torch::tensor({{1, 1, 1, 1, 1, 1}, {1, 1, 1, 1, 0, 0}}, torch::kInt64);
  b.labels = torch::tensor({0, 1}, torch::kInt64);
  return b;
}

}  // namespace

TEST_CASE("distillation: the default layer map spaces the teacher's layers evenly", "[compress][distill]") {
  CHECK(default_layer_map(2, 4) == LayerMap{{0, 0}, {1, 2}, {2, 4}});
  CHECK(default_layer_map(6, 12) == LayerMap{{0, 0}, {1, 2}, {2, 4}, {3, 6}, {4, 8}, {5, 10}, {6, 12}});
  // round(4/3) = 1, round(8/3) = 3, round(12/3) = 4 (as hidden-state indices: teacher layer + 1).
  CHECK(default_layer_map(3, 4) == LayerMap{{0, 0}, {1, 1}, {2, 3}, {3, 4}});
  CHECK(default_layer_map(2, 2) == LayerMap{{0, 0}, {1, 1}, {2, 2}});
  // round(1.5) = 2 (halves up) and round(3) = 3.
  CHECK(default_layer_map(2, 3) == LayerMap{{0, 0}, {1, 2}, {2, 3}});
}

TEST_CASE("bert: forward_with_hidden_states gives the embeddings and every layer, same logits", "[models][bert][distill]") {
  auto bert = tiny_bert_with(2, 0.3);
  const auto batch = tiny_batch();
  std::vector<torch::Tensor> hidden;
  const auto logits = bert->logits(batch, hidden);
  REQUIRE(hidden.size() == 3);
  for (const auto& h : hidden) CHECK(h.sizes() == torch::IntArrayRef({2, 6, 16}));
  CHECK(torch::equal(logits, bert->logits(batch)));
  // The last hidden state is what the pooler reads: its first token through pooler and classifier gives the logits.
  const auto params = bert->named_parameters();
  const auto pooled = torch::tanh(torch::nn::functional::linear(hidden[2].select(1, 0), params["bert.pooler.dense.weight"],
                                                                params["bert.pooler.dense.bias"]));
  CHECK(torch::allclose(torch::nn::functional::linear(pooled, params["classifier.weight"], params["classifier.bias"]), logits,
                        1e-5, 1e-6));
}

TEST_CASE("distillation: the hidden-state MSE equals a hand computation over kept tokens", "[compress][distill]") {
  auto student = tiny_bert_with(1, 0.3);
  auto teacher = tiny_bert_with(2, 0.2);
  const auto batch = tiny_batch();
  std::vector<torch::Tensor> s, t;
  student->logits(batch, s);
  teacher->logits(batch, t);
  const LayerMap map = default_layer_map(1, 2);  // embeddings, student layer 0 <-> teacher layer 1
  REQUIRE(map == LayerMap{{0, 0}, {1, 2}});
  double expected = 0;
  const auto mask = batch.attention_mask.accessor<int64_t, 2>();
  for (const auto& [si, ti] : map) {
    const auto a = s[static_cast<size_t>(si)].accessor<float, 3>();
    const auto b = t[static_cast<size_t>(ti)].accessor<float, 3>();
    double sum = 0;
    int64_t count = 0;
    for (int64_t i = 0; i < 2; ++i)
      for (int64_t l = 0; l < 6; ++l) {
        if (!mask[i][l]) continue;
        for (int64_t h = 0; h < 16; ++h) {
          const double d = static_cast<double>(a[i][l][h]) - static_cast<double>(b[i][l][h]);
          sum += d * d;
          ++count;
        }
      }
    expected += sum / static_cast<double>(count);
  }
  expected /= 2.0;
  REQUIRE(expected > 1e-3);
  CHECK(hidden_state_loss(s, t, map, batch.attention_mask).item<double>() == Approx(expected).epsilon(1e-5));
  // Without a mask every position counts: padding changes the figure.
  CHECK(hidden_state_loss(s, t, map, torch::Tensor()).item<double>() != Approx(expected).epsilon(1e-5));
  CHECK(hidden_state_loss(t, t, default_layer_map(2, 2), batch.attention_mask).item<double>() == 0.0);
}

TEST_CASE("distillation: a 2-layer student gets gradient from the 4-layer teacher's hidden states", "[compress][distill]") {
  auto student = tiny_bert_with(2, 0.3);
  auto teacher = tiny_bert_with(4, 0.2);
  const auto batch = tiny_batch();
  // hardness 0 and a zero task loss: all that is left is the hidden-state term.
  const auto run = [&](double gain) {
    recipe::DistillationParams p;
    p.hardness = 0.0;
    p.hidden_state_gain = gain;
    DistillationModifier modifier(p, "r.yaml:1:1");
    torch::optim::SGD optimizer(student->parameters(), torch::optim::SGDOptions(0.1));
    TrainState state{*student, optimizer, 1};
    state.teacher = teacher.get();
    modifier.initialize(state);
    CHECK(state.wants_hidden_states == (gain > 0));
    modifier.on_event(state, Event{EventType::BatchStart, 0.0});
    optimizer.zero_grad();
    state.batch = &batch;
    state.logits = state.wants_hidden_states ? student->logits(batch, state.hidden_states) : student->logits(batch);
    state.loss = state.logits.sum() * 0.0;
    modifier.on_event(state, Event{EventType::LossCalculated, 0.0});
    state.loss.backward();
    return state.loss.item<double>();
  };
  const auto grad_norm = [&](const std::string& name) { return student->named_parameters()[name].grad().norm().item<double>(); };

  const double loss = run(2.0);
  std::vector<torch::Tensor> s, t;
  student->logits(batch, s);
  teacher->logits(batch, t);
  CHECK(loss == Approx(2.0 * hidden_state_loss(s, t, default_layer_map(2, 4), batch.attention_mask).item<double>()).epsilon(1e-5));
  for (const char* name : {"bert.embeddings.word_embeddings.weight", "bert.encoder.layer.0.attention.self.query.weight",
                           "bert.encoder.layer.1.output.dense.weight"})
    CHECK(grad_norm(name) > 1e-6);
  // The classifier is after the last hidden state: the term gives it nothing.
  CHECK(grad_norm("classifier.weight") == 0.0);

  run(0.0);
  CHECK(grad_norm("bert.encoder.layer.1.output.dense.weight") == 0.0);
}

TEST_CASE("distillation: hidden states need BERT on both sides and names within the models", "[compress][distill]") {
  auto student = tiny_bert_with(2, 0.3);
  auto teacher = tiny_bert_with(4, 0.2);
  torch::optim::SGD optimizer(student->parameters(), torch::optim::SGDOptions(0.1));
  recipe::DistillationParams p;
  p.hidden_state_gain = 1.0;
  {
    models::CnnOptions o;
    models::Cnn cnn(o);
    TrainState state{*student, optimizer, 1};
    state.teacher = &cnn;
    DistillationModifier modifier(p, "r.yaml:3:5");
    CHECK_THROWS_WITH(modifier.initialize(state),
                      "r.yaml:3:5: hidden_state_gain: the teacher (cnn) has no hidden states to distil; BERT and Llama have");
  }
  p.student_layer_names = {"bert.encoder.layer.2"};
  p.teacher_layer_names = {"bert.encoder.layer.3"};
  DistillationModifier modifier(p, "r.yaml:3:5");
  TrainState state{*student, optimizer, 1};
  state.teacher = teacher.get();
  modifier.initialize(state);
  modifier.on_event(state, Event{EventType::BatchStart, 0.0});
  const auto batch = tiny_batch();
  state.batch = &batch;
  state.logits = student->logits(batch, state.hidden_states);
  state.loss = state.logits.sum() * 0.0;
  CHECK_THROWS_WITH(modifier.on_event(state, Event{EventType::LossCalculated, 0.0}),
                    "r.yaml:3:5: student_layer_names: 'bert.encoder.layer.2', but the student has 2 encoder layers");
}
