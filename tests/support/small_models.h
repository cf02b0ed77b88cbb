// Small models for tests, seeded: a CNN whose chosen layers have random 1x4 blocks zeroed (the shape a
// block4 recipe leaves, stored sparse_int8 on export), a tiny BERT with its own vocabulary, and a small Llama
// (its configuration, or the model with a tokenizer).
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "text/tokenizer.h"
#include "models/bert/bert.h"
#include "models/cnn.h"
#include "models/llama/llama.h"
#include "models/llama/llama_config.h"
#include "text/bpe_trainer.h"

namespace sparrow::testing {

// A small Llama with grouped-query attention: hidden 32, 2 layers, 4 query heads over 2 key/value heads of 8,
// SwiGLU width 48; the vocabulary and context are the test's.
inline models::llama::LlamaConfig small_llama_config(std::int64_t vocab_size, std::int64_t context) {
  models::llama::LlamaConfig c;
  c.vocab_size = vocab_size;
  c.hidden_size = 32;
  c.intermediate_size = 48;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.head_dim = 8;
  c.max_position_embeddings = context;
  return c;
}

// A byte-level BPE vocabulary of 300 learned from two sentences of American addresses, and a small Llama
// (small_llama_config, `context` positions, torch's seed `seed`) over it, its tokenizer.json in folder_files so
// that save_llama_folder writes a Hugging Face folder compress and sparrow read.
inline std::shared_ptr<models::llama::LlamaForCausalLM> small_llama_with_tokenizer(std::int64_t context, std::uint64_t seed) {
  text::BpeTrainerOptions o;
  o.vocab_size = 300;
  const auto tokenizer = text::train_bpe({"The state of the Union is strong, and the Congress has met.",
                                          "We the people of the United States, in order to form a more perfect union."},
                                         o);
  torch::manual_seed(seed);
  auto model = std::make_shared<models::llama::LlamaForCausalLM>(small_llama_config(tokenizer.size(), context));
  model->folder_files["tokenizer.json"] = tokenizer.to_json();
  return model;
}

// Zeroes about `fraction` of the 1x4 blocks (along the flattened input) of each named parameter.
inline void zero_random_blocks(torch::nn::Module& m, const std::vector<std::string>& names, double fraction) {
  torch::NoGradGuard g;
  for (const auto& name : names) {
    torch::Tensor w = m.named_parameters()[name];  // shares the parameter's storage
    const auto flat = w.view({w.size(0), -1});
    const auto keep = (torch::rand({flat.size(0), flat.size(1) / 4, 1}) > fraction).expand({-1, -1, 4}).reshape(flat.sizes());
    flat.mul_(keep.to(torch::kFloat32));
  }
}

// Gives every BatchNorm of `m` running statistics and an affine map far from the identity, so that a
// BatchNorm left out or folded wrongly shows in the outputs.
inline void randomize_batch_norms(torch::nn::Module& m) {
  torch::NoGradGuard g;
  for (const auto& item : m.named_modules("", false))
    if (auto* bn = item.value()->as<torch::nn::BatchNorm2d>()) {
      bn->running_mean.copy_(torch::randn_like(bn->running_mean) * 0.3);
      bn->running_var.copy_(torch::rand_like(bn->running_var) + 0.2);
      bn->weight.copy_(torch::rand_like(bn->weight) + 0.5);
      bn->bias.copy_(torch::randn_like(bn->bias) * 0.2);
    }
}

struct SmallCnn {
  std::uint64_t seed = 1;
  models::CnnOptions options = [] {
    models::CnnOptions o;
    o.image_size = 8;
    o.conv1_channels = 4;
    o.conv2_channels = 8;
    o.hidden = 16;
    o.num_classes = 3;
    return o;
  }();
  std::vector<std::string> block_pruned;  // parameters given zero blocks
  double zero_fraction = 0.0;
};

inline std::shared_ptr<models::Cnn> small_cnn(const SmallCnn& s) {
  torch::manual_seed(s.seed);
  auto m = std::make_shared<models::Cnn>(s.options);
  zero_random_blocks(*m, s.block_pruned, s.zero_fraction);
  m->eval();
  return m;
}

struct TinyBert {
  models::bert::BertConfig config = [] {
    models::bert::BertConfig c;
    c.vocab_size = 40;
    c.hidden_size = 16;
    c.num_hidden_layers = 2;
    c.num_attention_heads = 2;
    c.intermediate_size = 32;
    c.max_position_embeddings = 16;
    c.max_seq_length = 8;
    c.num_labels = 2;
    return c;
  }();
  double weight_std = 0.3;
  std::vector<std::string> labels = {"ham", "spam"};
};

// Weights ~ N(0, weight_std) (seed 2); vocabulary: the special tokens, then w0, w1, ...
inline std::shared_ptr<models::bert::BertForSequenceClassification> tiny_bert(const TinyBert& s) {
  std::vector<std::string> vocab = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
  for (int i = 0; static_cast<std::int64_t>(vocab.size()) < s.config.vocab_size; ++i) vocab.push_back("w" + std::to_string(i));
  torch::manual_seed(2);
  auto m = std::make_shared<models::bert::BertForSequenceClassification>(s.config);
  {
    torch::NoGradGuard g;
    for (auto& p : m->parameters()) p.normal_(0.0, s.weight_std);
  }
  m->set_tokenizer(std::make_shared<text::Tokenizer>(vocab, text::BasicTokenizerOptions{}));
  m->labels = s.labels;
  m->eval();
  return m;
}

}  // namespace sparrow::testing
