// A .sparrow file loaded for running: the mapped file (weights are read in place, never copied), its ops in
// order with their attributes parsed and checked once, the values they pass, and the model metadata the
// engine needs (labels, tokenizer). No LibTorch.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "text/bpe_tokenizer.h"
#include "text/tokenizer.h"
#include "engine/kernel_weights.h"
#include "format/input_normalization.h"
#include "format/reader.h"
#include "quant/scheme.h"

namespace sparrow::engine {

enum class OpKind {
  quantize, dequantize, linear, conv2d, embedding, layer_norm, gelu, relu, tanh, softmax, add, attention,
  max_pool, global_avg_pool, first_token, flatten, rms_norm, rotary, swiglu, causal_attention,
};
const char* op_kind_name(OpKind kind);

enum class ValueType { f32, i64, u8 };

// A value passed between ops; its shape depends on the (batch, sequence) shape and lives in the Plan.
struct Value {
  std::string name;
  ValueType type = ValueType::f32;
};

enum class EmbeddingIndices { ids, positions, constant };

struct Op {
  std::string name;
  OpKind kind = OpKind::relu;
  std::vector<std::size_t> inputs;  // value indices
  std::size_t output = 0;
  // A quantize op whose only consumers are INT8 layers: they quantize their own input while packing it,
  // so this op does nothing at run time and the layers read its FP32 input. A gelu or relu op applied by the
  // linear, conv2d (or, a relu, the add) before it (`activation` below). An add whose sum only a layer norm
  // reads: the norm takes the add's two inputs.
  bool folded = false;

  // quantize / dequantize; INT8 layers' input quantization
  float scale = 1.0f;
  std::int32_t zero_point = 0;
  // linear / conv2d
  std::shared_ptr<const LinearWeights> weights;
  // A linear or conv2d whose output fed only a gelu or relu op: the GEMM's epilogue applies it and writes that
  // op's output (the op is folded). An add whose sum fed only a relu: the add applies it. An INT8 conv2d whose
  // FP32 output only an add read: the add is folded into it (model.cpp), input 1 is the add's other operand, the
  // residual, added in the epilogue before this activation (the add's).
  kernels::Activation activation = kernels::Activation::none;
  // An INT8 linear whose output fed only a quantize op (whose output reads u8): the epilogue requantizes with
  // these parameters and writes that op's output (the op is folded). An INT8 conv2d whose output only INT8
  // conv2d ops read alike, directly or through one max pooling: the epilogue requantizes with their input
  // parameters (model.cpp's UINT8 feature-map fold).
  std::optional<quant::ActivationParams> requantize;
  std::size_t in_channels = 0, kernel = 1, stride = 1, pad = 0;
  // conv2d: the weight's K runs (ky, kx, c), input channels innermost ("patch_order" "hwc"), else (c, ky, kx).
  bool channels_innermost = false;
  // conv2d, max_pool: input 0 is a UINT8 feature map (an INT8 conv2d's output requantized for the INT8
  // conv2d(s) reading it; the UINT8 feature-map fold in model.cpp), not FP32.
  bool reads_u8 = false;
  // embedding
  EmbeddingIndices indices = EmbeddingIndices::ids;
  std::size_t index = 0;
  const float* table = nullptr;
  std::size_t rows = 0, width = 0;
  // layer_norm, rms_norm (gamma and eps only)
  const float* gamma = nullptr;
  const float* beta = nullptr;
  float eps = 0.0f;
  // attention; INT8 attention takes Q's parameters in scale and zero_point, K's and V's scales here
  std::size_t heads = 0, head_size = 0;
  bool int8_attention = false;
  float key_scale = 1.0f, value_scale = 1.0f;
  // rotary (heads, head_size, theta); causal_attention (heads, kv_heads, head_size, and the KV cache slot: the
  // op's rank among the graph's causal_attention ops)
  float theta = 0.0f;
  std::size_t kv_heads = 0, cache_slot = 0;
  // max_pool: kernel, stride; flatten
  std::size_t start_dim = 1;
};

class Model {
 public:
  // Maps and validates the file (format::File), then checks what the engine needs beyond the format's own
  // rules. Anything wrong is BadInput naming the file and op.
  static std::shared_ptr<const Model> load(const std::filesystem::path& path);
  static std::shared_ptr<const Model> from_file(format::File file);

  const format::File& file() const { return file_; }
  const std::vector<Value>& values() const { return values_; }
  const std::vector<Op>& ops() const { return ops_; }
  // Graph inputs: value index and declared shape (-1 = batch or sequence).
  struct Input {
    std::size_t value = 0;
    std::vector<std::int64_t> shape;
  };
  const std::vector<Input>& inputs() const { return inputs_; }
  const std::vector<std::size_t>& outputs() const { return outputs_; }
  std::optional<std::size_t> find_value(const std::string& name) const;

  bool is_text() const { return tokenizer_ != nullptr || causal_lm_; }
  // A classifier's WordPiece tokenizer (null for a causal LM).
  const text::Tokenizer* tokenizer() const { return tokenizer_.get(); }

  // sparrow.task "causal_lm": a decoder run through a KV cache (decoder.h). Its byte-level BPE tokenizer when
  // the file carries one (null otherwise: the model then takes token ids only).
  bool is_causal_lm() const { return causal_lm_; }
  const text::BpeTokenizer* bpe_tokenizer() const { return bpe_tokenizer_.get(); }
  // The most tokens (prompt and generated) a causal LM takes: sparrow.context_length.
  std::size_t context_length() const { return context_length_; }
  // The KV cache a causal LM needs per token position: one slot per causal_attention op, each kv_heads x
  // head_size keys and as many values (every op has the same shape; load checks it).
  struct CacheShape {
    std::size_t layers = 0, kv_heads = 0, head_size = 0;
  };
  const CacheShape& cache_shape() const { return cache_shape_; }
  std::size_t max_seq_length() const { return max_seq_length_; }
  const std::vector<std::string>& labels() const { return labels_; }
  // Image models: the elements of one input item (C*H*W, or the MLP's features).
  std::size_t item_elements() const { return item_elements_; }
  // Image models: how raw pixels become the input (the file's sparrow.input_normalization), when it says.
  const std::optional<format::InputNormalization>& input_normalization() const { return input_normalization_; }

 private:
  Model(format::File file) : file_(std::move(file)) {}
  void build();
  void read_metadata();
  void read_causal_lm_metadata();

  format::File file_;
  std::vector<Value> values_;
  std::vector<Op> ops_;
  std::vector<Input> inputs_;
  std::vector<std::size_t> outputs_;
  std::unique_ptr<text::Tokenizer> tokenizer_;
  bool causal_lm_ = false;
  std::unique_ptr<text::BpeTokenizer> bpe_tokenizer_;
  std::size_t context_length_ = 0;
  CacheShape cache_shape_;
  std::size_t max_seq_length_ = 0;
  std::vector<std::string> labels_;
  std::size_t item_elements_ = 0;
  std::optional<format::InputNormalization> input_normalization_;
};

}  // namespace sparrow::engine
