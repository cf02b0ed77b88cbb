#pragma once
// A zoo model's configuration, read and checked without LibTorch: a recipe's model: section or a saved
// config.json ({"name": "cnn" | "resnet" | "mlp" | "bert" | "llama", fields...}). build_model (model_factory.h) calls
// check_model_config and then only constructs, so every rule below holds before anything is allocated,
// and the fuzz target hf_config runs the same checks.
//
// Every field is optional (the defaults below); an unknown field, a field of the wrong type (integers must
// be JSON integers: 2.5, true and 1e300 are refused) or a value outside its range is BadInput naming the
// file (`context`), the field (model.<field>) and the range:
//   sizes (channels, widths, classes, features, vocabulary, positions)  1 to 1048576 (kMaxModelSize)
//   cnn image_size                                                       4 to 1048576 (two 2x2 poolings)
//   layer counts: bert num_hidden_layers                                 1 to 1024 (kMaxModelLayers)
//   mlp hidden: a list of 0 to 1024 widths, each a size
//   resnet block "basic" or "bottleneck"; stem "imagenet" or "small"; layers: 1 to 8 stages of 1 to 1024
//   blocks each; width * 2^(stages - 1) * 4 a size
//   dropout probabilities                                                [0, 1)
//   the parameters all sizes give together                               at most 2^31
//   bert: num_attention_heads divides hidden_size; pad_token_id in [0, vocab_size); max_seq_length in
//   [2, max_position_embeddings]; layer_norm_eps in (0, 1]; initializer_range in [0, 1]; id2label names
//   labels 0 .. num_labels - 1 (bert::BertConfig::validate).
//   llama: Hugging Face's LlamaConfig fields (llama::hf_config_keys()); num_key_value_heads divides
//   num_attention_heads; head_dim even; token ids in [0, vocab_size); rms_norm_eps in (0, 1]; rope_theta in
//   (0, 1e12]; hidden_act "silu" and rope_scaling null only (llama::LlamaConfig::validate, config_from_hf).
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "models/bert/bert_config.h"
#include "models/llama/llama_config.h"

namespace sparrow::models {

// The CNN of cnn.h.
struct CnnOptions {
  int64_t in_channels = 1;
  int64_t image_size = 28;
  int64_t conv1_channels = 32;
  int64_t conv2_channels = 64;
  int64_t hidden = 128;
  int64_t num_classes = 10;
  double dropout = 0.0;
  bool batch_norm = false;
};

// The residual network of resnet.h. layers: blocks per stage (torchvision's ResNet-18 is basic [2, 2, 2, 2],
// ResNet-50 bottleneck [3, 4, 6, 3]); stage i has width * 2^i planes. stem "imagenet": 7x7 stride-2 conv and
// 3x3 stride-2 max pooling (torchvision's); "small": one 3x3 stride-1 conv, for 28x28 or 32x32 images.
struct ResNetOptions {
  std::string block = "basic";
  std::vector<int64_t> layers = {2, 2, 2, 2};
  int64_t width = 64;
  std::string stem = "imagenet";
  int64_t in_channels = 3;
  int64_t image_size = 224;
  int64_t num_classes = 1000;
};

// The MLP of mlp.h.
struct MlpOptions {
  int64_t in_features = 784;
  std::vector<int64_t> hidden = {256, 128};
  int64_t num_classes = 10;
  double dropout = 0.0;
};

// BERT's configuration and its class names (id2label in id order; empty when the config has none).
struct BertModelConfig {
  bert::BertConfig config;
  std::vector<std::string> labels;
};

using ModelConfig = std::variant<CnnOptions, ResNetOptions, MlpOptions, BertModelConfig, llama::LlamaConfig>;

// The checked configuration; `context` prefixes errors (the recipe file or the checkpoint's config.json).
ModelConfig check_model_config(const nlohmann::json& config, const std::string& context);

}  // namespace sparrow::models
