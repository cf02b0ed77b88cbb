// Two LibTorch figures for docs/benchmarks.md, each measured in one process:
//  1. dense FP32 forward of the e-mail BERT (bert_teacher.yaml's shape) before
//     and after structured pruning (heads, FFN neurons, a layer removed);
//  2. the cost of compression while training: a plain dense training step vs
//     a step with block4 masks held, quantization-aware training and
//     distillation from a dense teacher.
// Medians over repetitions. Run: build/release/tests/bench/bench_compress [repetitions]
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "compress/modifiers/distillation_modifier.h"
#include "compress/modifiers/gm_pruning_modifier.h"
#include "compress/modifiers/quantization_modifier.h"
#include "models/bert/bert.h"
#include "models/checkpoint.h"

using namespace sparrow;

namespace {

// Median milliseconds of each runner. Repetitions are interleaved (one run of
// each in turn, starting with a different one each time), so that load from
// other processes on a shared machine falls on every runner alike.
std::vector<double> median_ms(int repetitions, const std::vector<std::function<void()>>& runners) {
  for (const auto& run : runners) run();  // warm-up: allocations, thread pool
  std::vector<std::vector<double>> ms(runners.size());
  for (int i = 0; i < repetitions; ++i)
    for (size_t k = 0; k < runners.size(); ++k) {
      const size_t r = (k + static_cast<size_t>(i)) % runners.size();
      const auto t0 = std::chrono::steady_clock::now();
      runners[r]();
      ms[r].push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
  std::vector<double> medians;
  for (auto& m : ms) {
    std::sort(m.begin(), m.end());
    medians.push_back(m[m.size() / 2]);
  }
  return medians;
}

data::Batch email_shaped_batch(int64_t vocab) {
  // bert_teacher.yaml's shape: 32 e-mails of 128 tokens (timing depends on shapes only).
  torch::manual_seed(0);
  data::Batch b;
  b.inputs = torch::randint(5, vocab, {32, 128}, torch::kInt64);
  b.attention_mask = torch::ones({32, 128}, torch::kInt64);
  b.labels = torch::randint(0, 2, {32}, torch::kInt64);
  return b;
}

int64_t parameters(models::Classifier& m) {
  int64_t n = 0;
  for (const auto& p : m.parameters()) n += p.numel();
  return n;
}

}  // namespace

int main(int argc, char** argv) {
  spdlog::set_level(spdlog::level::warn);
  const int reps = argc > 1 ? std::max(1, std::atoi(argv[1])) : 15;
  models::bert::BertConfig config;  // bert_teacher.yaml: 2 layers, hidden 128, 2 heads, FFN 512, vocab 8000
  const data::Batch batch = email_shaped_batch(config.vocab_size);
  std::printf("LibTorch threads: %d, repetitions: %d, batch 32 x 128 tokens\n\n", torch::get_num_threads(), reps);

  auto dense = std::make_shared<models::bert::BertForSequenceClassification>(config);
  dense->eval();
  struct Variant {
    const char* name;
    std::function<void(models::Classifier&)> prune;
  };
  const std::vector<Variant> variants = {
      {"unpruned", [](models::Classifier&) {}},
      {"1 of 2 heads per layer removed", [](models::Classifier& m) {
         for (int i = 0; i < 2; ++i)
           m.remove_units(models::StructureKind::Heads, "bert.encoder.layer." + std::to_string(i) + ".attention", {1});
       }},
      {"half the FFN neurons removed (512 -> 256)", [](models::Classifier& m) {
         std::vector<int64_t> half;
         for (int64_t n = 0; n < 256; ++n) half.push_back(2 * n);
         for (int i = 0; i < 2; ++i)
           m.remove_units(models::StructureKind::Neurons, "bert.encoder.layer." + std::to_string(i) + ".intermediate", half);
       }},
      {"1 of 2 encoder layers removed", [](models::Classifier& m) {
         m.remove_units(models::StructureKind::Layers, "bert.encoder", {1});
       }},
  };
  std::vector<std::shared_ptr<models::Classifier>> pruned;
  std::vector<std::function<void()>> forwards;
  for (const auto& v : variants) {
    pruned.push_back(models::clone_model(*dense));
    pruned.back()->eval();
    v.prune(*pruned.back());
    forwards.push_back([m = pruned.back(), &batch] {
      torch::NoGradGuard g;
      m->logits(batch);
    });
  }
  const auto times = median_ms(reps, forwards);
  std::printf("| model | parameters | forward, median ms | speed vs unpruned |\n|---|---|---|---|\n");
  for (size_t i = 0; i < variants.size(); ++i)
    std::printf("| %s | %lld | %.1f | %.2fx |\n", variants[i].name, static_cast<long long>(parameters(*pruned[i])), times[i],
                times[0] / times[i]);

  // Training steps: forward, loss, backward, optimizer step, with the
  // modifiers' events where the trainer fires them.
  struct Trainee {
    std::shared_ptr<models::Classifier> student, teacher;
    std::unique_ptr<torch::optim::AdamW> optimizer;
    std::unique_ptr<compress::TrainState> state;
    std::vector<std::unique_ptr<compress::Modifier>> modifiers;
  };
  const auto make_trainee = [&](bool compound) {
    auto t = std::make_shared<Trainee>();
    t->student = models::clone_model(*dense);
    t->teacher = models::clone_model(*dense);
    t->teacher->eval();
    for (auto& p : t->teacher->parameters()) p.set_requires_grad(false);
    t->student->train();
    t->optimizer = std::make_unique<torch::optim::AdamW>(t->student->parameters(), torch::optim::AdamWOptions(1e-4));
    t->state = std::make_unique<compress::TrainState>(*t->student, *t->optimizer, 100);
    t->state->teacher = t->teacher.get();
    if (compound) {
      recipe::GMPruningParams gmp;
      gmp.params = {"__ALL_PRUNABLE__"};
      gmp.init_sparsity = gmp.final_sparsity = 0.9;
      gmp.mask = recipe::MaskKind::parse("block4");
      gmp.end_epoch = 1000;
      t->modifiers.push_back(std::make_unique<compress::GMPruningModifier>(gmp, "bench"));
      t->modifiers.push_back(std::make_unique<compress::QuantizationModifier>(recipe::QuantizationParams{}, "bench"));
      t->modifiers.push_back(std::make_unique<compress::DistillationModifier>(recipe::DistillationParams{}, "bench"));
    }
    for (auto& m : t->modifiers) m->initialize(*t->state);
    return t;
  };
  // One training step as the trainer runs it, with the modifiers' events.
  const auto step = [&batch](const std::shared_ptr<Trainee>& t) {
    auto& state = *t->state;
    const auto fire = [&](compress::EventType type) {
      for (auto& m : t->modifiers) m->on_event(state, compress::Event{type, state.epoch});
    };
    fire(compress::EventType::BatchStart);
    t->optimizer->zero_grad();
    state.batch = &batch;
    state.logits = t->student->logits(batch);
    state.loss = torch::nn::functional::cross_entropy(state.logits, batch.labels);
    fire(compress::EventType::LossCalculated);
    state.loss.backward();
    fire(compress::EventType::OptimizerPreStep);
    t->optimizer->step();
    fire(compress::EventType::BatchEnd);
    state.epoch += 0.01;
  };
  const auto plain = make_trainee(false), compound = make_trainee(true);
  const auto steps = median_ms(reps, {[&] { step(plain); }, [&] { step(compound); }});
  std::printf("\n| training step | median ms | vs dense |\n|---|---|---|\n");
  std::printf("| dense (plain cross-entropy) | %.1f | 1.00x |\n", steps[0]);
  std::printf("| block4 masks held + QAT + distillation | %.1f | %.2fx |\n", steps[1], steps[1] / steps[0]);
  return 0;
}
