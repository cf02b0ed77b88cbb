// !OutputDistillationModifier (SquareHead): the comparison against a hand computation, the target names, the
// loss it gives a small Llama against its teacher computed apart, and its errors.
#include <catch2/catch.hpp>

#include "compress/modifiers/distillation_hidden_states.h"
#include "compress/modifiers/output_distillation_modifier.h"
#include "core/errors.h"
#include "recipe/hidden_state_names.h"
#include "support/small_models.h"

using namespace sparrow;
using namespace sparrow::compress;

namespace {

std::shared_ptr<models::llama::LlamaForCausalLM> llama(int64_t layers, uint64_t seed) {
  auto c = testing::small_llama_config(40, 8);
  c.num_hidden_layers = layers;
  torch::manual_seed(seed);
  return std::make_shared<models::llama::LlamaForCausalLM>(c);
}

// Two windows of 8 tokens, the second padded after 5.
data::Batch windows() {
  data::Batch b;
  b.inputs = torch::tensor({{0, 5, 9, 12, 3, 7, 30, 2}, {0, 17, 4, 4, 21, 0, 0, 0}}, torch::kInt64);
  b.attention_mask = torch::tensor({{1, 1, 1, 1, 1, 1, 1, 1}, {1, 1, 1, 1, 1, 0, 0, 0}}, torch::kInt64);
  b.labels = b.inputs;
  return b;
}

recipe::OutputDistillationParams square_head(std::vector<std::string> targets) {
  recipe::OutputDistillationParams p;
  p.targets = std::move(targets);
  return p;
}

}  // namespace

TEST_CASE("output distillation: SquareHead and MSE against a hand computation, padding left out", "[compress][distill]") {
  // One item of 3 tokens (the last padding) with 2 hidden units.
  const auto t = torch::tensor({{{1.0F, 2.0F}, {0.0F, -2.0F}, {100.0F, 100.0F}}});
  const auto s = torch::tensor({{{1.5F, 1.0F}, {1.0F, -2.0F}, {-50.0F, 7.0F}}});
  const auto mask = torch::tensor({{1, 1, 0}});
  // Kept errors: 0.25 + 1 + 1 + 0 = 2.25; the teacher's kept squares: 1 + 4 + 0 + 4 = 9.
  const LayerMap one{{0, 0}};
  CHECK(compare_hidden_states({s}, {t}, one, mask, HiddenStateComparison::SquareHead).item<double>() == Approx(2.25 / 9));
  CHECK(compare_hidden_states({s}, {t}, one, mask, HiddenStateComparison::Mse).item<double>() == Approx(2.25 / 4));
  // Summed over the pairs: the same state twice is twice the term; hidden_state_loss is the mean.
  const LayerMap twice{{0, 0}, {0, 0}};
  CHECK(compare_hidden_states({s}, {t}, twice, mask, HiddenStateComparison::SquareHead).item<double>() == Approx(2 * 2.25 / 9));
  CHECK(hidden_state_loss({s}, {t}, twice, mask).item<double>() == Approx(2.25 / 4));
  // Without a mask every position counts: errors 2.25 + 150² + 93² = 31 151.25, squares 9 + 2·100².
  CHECK(compare_hidden_states({s}, {t}, one, torch::Tensor(), HiddenStateComparison::SquareHead).item<double>() ==
        Approx(31151.25 / 20009));
}

TEST_CASE("output distillation: hidden-state names of BERT and Llama", "[compress][distill]") {
  CHECK(recipe::hidden_state_index("model.embed_tokens") == 0);
  CHECK(recipe::hidden_state_index("model.layers.0") == 1);
  CHECK(recipe::hidden_state_index("model.layers.31") == 32);
  CHECK(recipe::hidden_state_index("bert.embeddings") == 0);
  CHECK(recipe::hidden_state_index("bert.encoder.layer.3") == 4);
  for (const char* bad : {"model.layers.", "model.layers.01", "model.layers.1234567", "model.layers.-1", "model.layers.2x",
                          "model.norm", "bert.encoder.layer", "lm_head"})
    CHECK_FALSE(recipe::hidden_state_index(bad));
  CHECK(recipe::hidden_state_names("llama", 2) == std::vector<std::string>{"model.embed_tokens", "model.layers.0", "model.layers.1"});
  CHECK(recipe::hidden_state_names("cnn", 2).empty());

  const OutputDistillationModifier all(square_head({"__ALL__"}), "r.yaml:2:5");
  CHECK(all.target_indices("llama", 4) == std::vector<int64_t>{1, 2, 3, 4});
  const OutputDistillationModifier some(square_head({"re:model\\.layers\\.[13]", "model.embed_tokens", "model.layers.1"}), "r.yaml:2:5");
  CHECK(some.target_indices("llama", 4) == std::vector<int64_t>{0, 2, 4});
  const OutputDistillationModifier missing(square_head({"model.layers.4"}), "r.yaml:2:5");
  CHECK_THROWS_WITH(missing.target_indices("llama", 4),
                    "r.yaml:2:5: !OutputDistillationModifier: target 'model.layers.4' names no layer output of this llama model "
                    "(model.embed_tokens, then model.layers.0 to model.layers.3)");
  const OutputDistillationModifier other_family(square_head({"bert.encoder.layer.0"}), "r.yaml:2:5");
  CHECK_THROWS_AS(other_family.target_indices("llama", 4), BadInput);
}

TEST_CASE("output distillation: a Llama's loss is orig_scale * task + distill_scale * SquareHead + logits_scale * KL",
          "[compress][distill]") {
  auto student = llama(2, 1), teacher = llama(2, 2);
  const auto batch = windows();
  auto p = square_head({"model.layers.0", "model.layers.1"});
  p.orig_scale = 0.5;
  p.distill_scale = 3.0;
  const auto run = [&](const recipe::OutputDistillationParams& params, double task) {
    OutputDistillationModifier modifier(params, "r.yaml:1:1");
    torch::optim::SGD optimizer(student->parameters(), torch::optim::SGDOptions(0.1));
    TrainState state{*student, optimizer, 1};
    state.teacher = teacher.get();
    modifier.initialize(state);
    CHECK(state.wants_hidden_states);
    modifier.on_event(state, Event{EventType::BatchStart, 0.0});
    optimizer.zero_grad();
    state.batch = &batch;
    state.logits = student->logits(batch, state.hidden_states);
    state.loss = state.logits.sum() * 0.0 + task;
    modifier.on_event(state, Event{EventType::LossCalculated, 0.0});
    state.loss.backward();
    return state.loss.item<double>();
  };
  // The expectation, written out apart: per target, the kept tokens' summed squared error over the teacher's
  // summed squares.
  std::vector<torch::Tensor> s, t;
  torch::Tensor student_logits, teacher_logits;
  {
    torch::NoGradGuard no_grad;
    student_logits = student->logits(batch, s);
    teacher_logits = teacher->logits(batch, t);
  }
  const auto keep = batch.attention_mask.to(torch::kFloat64).unsqueeze(-1);
  double expected_terms = 0;
  for (const size_t i : {1, 2}) {
    const auto sd = s[i].to(torch::kFloat64), td = t[i].to(torch::kFloat64);
    expected_terms += ((sd - td).square() * keep).sum().item<double>() / (td.square() * keep).sum().item<double>();
  }
  CHECK(expected_terms > 0.01);
  CHECK(run(p, 2.0) == Approx(0.5 * 2.0 + 3.0 * expected_terms).epsilon(1e-4));
  // The term trains every layer up to the last target; lm_head (tied to the embeddings here or not) is after it.
  const auto grad = [&](const std::string& name) { return student->named_parameters()[name].grad().norm().item<double>(); };
  CHECK(grad("model.layers.0.self_attn.q_proj.weight") > 1e-6);
  CHECK(grad("model.layers.1.mlp.down_proj.weight") > 1e-6);

  // The logit term at T = 2: T² · mean over the 13 real positions (padding left out) of KL(teacher || student),
  // computed apart.
  p.logits_scale = 0.25;
  p.temperature = 2.0;
  const auto lt = torch::log_softmax(teacher_logits.to(torch::kFloat64) / 2.0, -1);
  const auto ls = torch::log_softmax(student_logits.to(torch::kFloat64) / 2.0, -1);
  const auto per_position = (lt.exp() * (lt - ls)).sum(-1);
  double kl_sum = 0;
  for (int64_t t = 0; t < 8; ++t) kl_sum += per_position[0][t].item<double>();
  for (int64_t t = 0; t < 5; ++t) kl_sum += per_position[1][t].item<double>();
  const double kl = kl_sum / 13 * 4.0;
  CHECK(run(p, 2.0) == Approx(0.5 * 2.0 + 3.0 * expected_terms + 0.25 * kl).epsilon(1e-4));

  // The student against itself: nothing to learn from the layer outputs.
  teacher = student;
  CHECK(run(square_head({"__ALL__"}), 1.5) == Approx(1.5).margin(1e-6));
}

TEST_CASE("output distillation: errors name the modifier and what differs", "[compress][distill]") {
  auto student = llama(2, 1);
  torch::optim::SGD optimizer(student->parameters(), torch::optim::SGDOptions(0.1));
  TrainState state{*student, optimizer, 1};
  OutputDistillationModifier modifier(square_head({"__ALL__"}), "r.yaml:4:3");
  CHECK_THROWS_WITH(modifier.initialize(state), "r.yaml:4:3: !OutputDistillationModifier needs a teacher: section (teacher: {checkpoint: DIR})");
  auto deeper = llama(3, 2);
  state.teacher = deeper.get();
  OutputDistillationModifier again(square_head({"__ALL__"}), "r.yaml:4:3");
  CHECK_THROWS_WITH(again.initialize(state),
                    "r.yaml:4:3: !OutputDistillationModifier compares each target with the same layer of the teacher, but the "
                    "student is a 2-layer llama and the teacher a 3-layer llama; distil a smaller student with "
                    "!DistillationModifier's hidden_state_gain and layer maps");
}
