#include "export/lower.h"

#include <algorithm>

#include "core/errors.h"
#include "text/bpe_tokenizer.h"
#include "models/bert/bert.h"
#include "models/cnn.h"
#include "models/conv_bn.h"
#include "models/llama/llama.h"
#include "models/mlp.h"
#include "models/resnet.h"
#include "models/weight_matrix.h"

namespace sparrow::exporter {

namespace {

// Appends ops with fresh value names; parameters are looked up by their state-dict names.
class Builder {
 public:
  explicit Builder(models::Classifier& model) : model_(model) {
    for (const auto& p : model.named_parameters()) params_[p.key()] = p.value().detach().to(torch::kFloat32).contiguous();
  }

  LoweredGraph graph;

  std::string op(const std::string& name, const std::string& kind, std::vector<std::string> inputs,
                 nlohmann::json attrs = nlohmann::json::object(), std::map<std::string, torch::Tensor> weights = {},
                 std::string output = {}) {
    LoweredOp o;
    o.name = name;
    o.op = kind;
    o.inputs = std::move(inputs);
    o.output = output.empty() ? name + ".out" : std::move(output);
    o.attrs = std::move(attrs);
    o.weights = std::move(weights);
    graph.ops.push_back(o);
    return graph.ops.back().output;
  }
  std::string unary(const std::string& name, const std::string& kind, const std::string& in, std::string output = {}) {
    return op(name, kind, {in}, nlohmann::json::object(), {}, std::move(output));
  }
  // `module` is the layer's state-dict prefix ("fc1", "bert.encoder.layer.0.attention.self.query").
  // A layer without a bias parameter (Llama's) gets none.
  std::string linear(const std::string& module, const std::string& in, std::string output = {}) {
    return linear(module, in, param(module + ".weight"), params_.count(module + ".bias") ? param(module + ".bias") : torch::Tensor(),
                  std::move(output));
  }
  std::string linear(const std::string& name, const std::string& in, const torch::Tensor& w, const torch::Tensor& bias,
                     std::string output = {}) {
    std::map<std::string, torch::Tensor> weights = {{"weight", w}};
    if (bias.defined()) weights["bias"] = bias;
    return op(name, "linear", {in}, {{"out_features", w.size(0)}, {"in_features", w.size(1)}}, std::move(weights),
              std::move(output));
  }
  std::string conv2d(const std::string& module, const std::string& in) {
    return conv2d(module, in, param(module + ".weight"), param(module + ".bias"));
  }
  // A conv and the BatchNorm after it as one conv2d op, folded as the trainer folds it, so the engine runs
  // no BatchNorm and quantizes the same weights the trainer did.
  std::string conv2d_bn(const std::string& conv, const std::string& bn, const std::string& in) {
    const auto* n = module(bn)->as<torch::nn::BatchNorm2d>();
    if (!n) throw InternalError("export: the model's '" + bn + "' is not a BatchNorm");
    torch::NoGradGuard no_grad;
    const auto folded = models::fold_batch_norm(conv_module(conv), *n);
    return conv2d(conv, in, folded.weight.to(torch::kFloat32).contiguous(), folded.bias.to(torch::kFloat32).contiguous());
  }
  // w: [out, in, kh, kw]; stride and padding are the module's. The weight is stored as the matrix the trainer
  // pruned (models/weight_matrix.h), its patch order in "patch_order".
  std::string conv2d(const std::string& conv, const std::string& in, const torch::Tensor& w, const torch::Tensor& bias) {
    const auto& o = conv_module(conv).options;
    const auto stride = (*o.stride())[0], padding = (*c10::get<torch::ExpandingArray<2>>(o.padding()))[0];
    const nlohmann::json attrs = {{"out_features", w.size(0)},
                                  {"in_features", w.size(1) * w.size(2) * w.size(3)},
                                  {"in_channels", w.size(1)},
                                  {"out_channels", w.size(0)},
                                  {"kernel", {w.size(2), w.size(3)}},
                                  {"stride", {stride, stride}},
                                  {"padding", {padding, padding}},
                                  {"patch_order", models::channels_innermost(w) ? "hwc" : "chw"}};
    return op(conv, "conv2d", {in}, attrs, {{"weight", models::weight_matrix(w).contiguous()}, {"bias", bias}});
  }
  std::string layer_norm(const std::string& module, const std::string& in, double eps) {
    return op(module, "layer_norm", {in}, {{"eps", eps}},
              {{"gamma", param(module + ".weight")}, {"beta", param(module + ".bias")}});
  }
  std::string embedding(const std::string& module, const std::string& ids, nlohmann::json attrs) {
    return op(module, "embedding", {ids}, std::move(attrs), {{"table", param(module + ".weight")}});
  }
  void classifier_outputs(const std::string& logits) {
    unary("softmax", "softmax", logits, "probabilities");
    graph.outputs = {logits, "probabilities"};
  }

  std::shared_ptr<torch::nn::Module> module(const std::string& name) const {
    const auto modules = model_.named_modules("", /*include_self=*/false);
    if (!modules.contains(name)) throw InternalError("export: the model has no module '" + name + "'");
    return modules[name];
  }
  bool has_module(const std::string& name) const { return model_.named_modules("", false).contains(name); }
  const torch::nn::Conv2dImpl& conv_module(const std::string& name) const {
    const auto* c = module(name)->as<torch::nn::Conv2d>();
    if (!c) throw InternalError("export: the model's '" + name + "' is not a conv");
    return *c;
  }

  torch::Tensor param(const std::string& name) const {
    const auto it = params_.find(name);
    if (it == params_.end()) throw InternalError("export: the model has no parameter '" + name + "'");
    return it->second;
  }

 private:
  models::Classifier& model_;
  std::map<std::string, torch::Tensor> params_;
};

std::vector<std::string> layer_names(const std::vector<std::string>& prunable) {
  std::vector<std::string> names;
  for (const auto& p : prunable) names.push_back(p.substr(0, p.rfind(".weight")));
  return names;
}

void lower_cnn(Builder& b, const nlohmann::json& config) {
  const std::int64_t c = config.at("in_channels"), s = config.at("image_size");
  b.graph.inputs = {{"input", "f32", {-1, c, s, s}}};
  const nlohmann::json pool = {{"mode", "max"}, {"kernel", {2, 2}}, {"stride", {2, 2}}};
  const bool batch_norm = config.value("batch_norm", false);
  const auto conv = [&](const std::string& n, const std::string& in) {
    return batch_norm ? b.conv2d_bn("conv" + n, "bn" + n, in) : b.conv2d("conv" + n, in);
  };
  auto x = b.unary("relu1", "relu", conv("1", "input"));
  x = b.op("pool1", "pooling", {x}, pool);
  x = b.unary("relu2", "relu", conv("2", x));
  x = b.op("pool2", "pooling", {x}, pool);
  x = b.op("flatten", "flatten", {x}, {{"start_dim", 1}});
  x = b.unary("relu3", "relu", b.linear("fc1", x));
  b.classifier_outputs(b.linear("fc2", x, "logits"));
  b.graph.metadata["sparrow.task"] = "image_classification";
  b.graph.metadata["sparrow.image"] = {{"channels", c}, {"height", s}, {"width", s}};
}

// torchvision's ResNet (models/resnet.h): every conv with its BatchNorm folded in, each block's sum of its
// convs and its shortcut, global average pooling, and the classifier.
void lower_resnet(Builder& b, const nlohmann::json& config) {
  const std::int64_t c = config.at("in_channels"), s = config.at("image_size");
  b.graph.inputs = {{"input", "f32", {-1, c, s, s}}};
  auto x = b.unary("relu", "relu", b.conv2d_bn("conv1", "bn1", "input"));
  if (config.at("stem") == "imagenet")
    x = b.op("maxpool", "pooling", {x}, {{"mode", "max"}, {"kernel", {3, 3}}, {"stride", {2, 2}}, {"padding", {1, 1}}});
  const bool bottleneck = config.at("block") == "bottleneck";
  const auto& layers = config.at("layers");
  for (std::size_t i = 0; i < layers.size(); ++i) {
    for (std::int64_t j = 0; j < layers[i].get<std::int64_t>(); ++j) {
      const std::string p = "layer" + std::to_string(i + 1) + "." + std::to_string(j) + ".";
      const auto conv = [&](const std::string& k, const std::string& in) { return b.conv2d_bn(p + "conv" + k, p + "bn" + k, in); };
      // The shortcut first: the engine adds it in the last conv's epilogue, which needs it computed.
      const auto shortcut = b.has_module(p + "downsample") ? b.conv2d_bn(p + "downsample.0", p + "downsample.1", x) : x;
      auto y = b.unary(p + "relu1", "relu", conv("1", x));
      y = bottleneck ? conv("3", b.unary(p + "relu2", "relu", conv("2", y))) : conv("2", y);
      x = b.unary(p + "relu", "relu", b.op(p + "add", "add", {y, shortcut}));
    }
  }
  x = b.op("avgpool", "pooling", {x}, {{"mode", "global_avg"}});
  x = b.op("flatten", "flatten", {x}, {{"start_dim", 1}});
  b.classifier_outputs(b.linear("fc", x, "logits"));
  b.graph.metadata["sparrow.task"] = "image_classification";
  b.graph.metadata["sparrow.image"] = {{"channels", c}, {"height", s}, {"width", s}};
}

void lower_mlp(Builder& b, const nlohmann::json& config, std::size_t layers) {
  b.graph.inputs = {{"input", "f32", {-1, config.at("in_features").get<std::int64_t>()}}};
  auto x = b.op("flatten", "flatten", {"input"}, {{"start_dim", 1}});
  for (std::size_t i = 1; i < layers; ++i) {
    const std::string n = std::to_string(i);
    x = b.unary("relu" + n, "relu", b.linear("fc" + n, x));
  }
  b.classifier_outputs(b.linear("fc" + std::to_string(layers), x, "logits"));
  b.graph.metadata["sparrow.task"] = "image_classification";
}

void lower_bert(Builder& b, const models::bert::BertForSequenceClassification& bert) {
  const auto& c = bert.bert_config();
  b.graph.inputs = {{"input_ids", "i64", {-1, -1}}, {"attention_mask", "i64", {-1, -1}}};
  const std::string e = "bert.embeddings.";
  auto x = b.op("bert.embeddings.add1", "add",
                {b.embedding(e + "word_embeddings", "input_ids", {{"indices", "ids"}}),
                 b.embedding(e + "position_embeddings", "input_ids", {{"indices", "positions"}})});
  // Single-segment inputs: every token has type 0, as the model's forward does.
  x = b.op("bert.embeddings.add2", "add",
           {x, b.embedding(e + "token_type_embeddings", "input_ids", {{"indices", "constant"}, {"index", 0}})});
  x = b.layer_norm(e + "LayerNorm", x, c.layer_norm_eps);
  const std::int64_t head_size = c.hidden_size / c.num_attention_heads;
  for (std::int64_t i = 0; i < c.num_hidden_layers; ++i) {
    const std::string p = "bert.encoder.layer." + std::to_string(i) + ".";
    const auto ctx = b.op(p + "attention.self", "attention",
                          {b.linear(p + "attention.self.query", x), b.linear(p + "attention.self.key", x),
                           b.linear(p + "attention.self.value", x), "attention_mask"},
                          {{"heads", c.heads_in_layer(i)}, {"head_size", head_size}});
    const auto attended = b.layer_norm(
        p + "attention.output.LayerNorm", b.op(p + "attention.output.add", "add", {b.linear(p + "attention.output.dense", ctx), x}),
        c.layer_norm_eps);
    const auto inner = b.unary(p + "intermediate.gelu", "gelu", b.linear(p + "intermediate.dense", attended));
    x = b.layer_norm(p + "output.LayerNorm", b.op(p + "output.add", "add", {b.linear(p + "output.dense", inner), attended}),
                     c.layer_norm_eps);
  }
  const auto pooled = b.op("bert.pooler.first_token", "pooling", {x}, {{"mode", "first_token"}});
  const auto tanh = b.unary("bert.pooler.tanh", "tanh", b.linear("bert.pooler.dense", pooled));
  b.classifier_outputs(b.linear("classifier", tanh, "logits"));

  b.graph.metadata["sparrow.task"] = "text_classification";
  if (const auto& tok = bert.tokenizer()) {
    b.graph.metadata["sparrow.tokenizer"] = {{"type", "wordpiece"},
                                             {"vocab", tok->vocab()},
                                             {"do_lower_case", tok->options().do_lower_case},
                                             {"strip_accents", tok->options().strip_accents},
                                             {"tokenize_chinese_chars", tok->options().tokenize_chinese_chars},
                                             {"max_seq_length", c.max_seq_length},
                                             {"pad_id", tok->pad_id()},
                                             {"unk_id", tok->unk_id()},
                                             {"cls_id", tok->cls_id()},
                                             {"sep_id", tok->sep_id()}};
  }
}

// A Llama decoder (docs/format.md "Ops", "Causal LMs"): per layer RMSNorm, Q/K/V projections, rotary
// embeddings on Q and K, causal attention over the KV cache, the output projection and its residual add, then
// RMSNorm, gate and up projections, their SwiGLU product, the down projection and its residual add. A tied
// lm_head is an FP32 linear over the embedding table (the file holds the table twice: once per layout).
void lower_llama(Builder& b, const models::llama::LlamaForCausalLM& llama) {
  const auto& c = llama.llama_config();
  b.graph.inputs = {{"input_ids", "i64", {-1, -1}}};
  auto x = b.embedding("model.embed_tokens", "input_ids", {{"indices", "ids"}});
  const auto rms_norm = [&](const std::string& module, const std::string& in) {
    return b.op(module, "rms_norm", {in}, {{"eps", c.rms_norm_eps}}, {{"gamma", b.param(module + ".weight")}});
  };
  const auto rotary = [&](const std::string& name, const std::string& in, std::int64_t heads) {
    return b.op(name, "rotary", {in}, {{"heads", heads}, {"head_size", c.head_dim}, {"theta", c.rope_theta}});
  };
  for (std::int64_t i = 0; i < c.num_hidden_layers; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    const auto h = rms_norm(p + "input_layernorm", x);
    const auto q = rotary(p + "self_attn.q_rotary", b.linear(p + "self_attn.q_proj", h), c.num_attention_heads);
    const auto k = rotary(p + "self_attn.k_rotary", b.linear(p + "self_attn.k_proj", h), c.num_key_value_heads);
    const auto ctx = b.op(p + "self_attn", "causal_attention", {q, k, b.linear(p + "self_attn.v_proj", h)},
                          {{"heads", c.num_attention_heads}, {"kv_heads", c.num_key_value_heads}, {"head_size", c.head_dim}});
    x = b.op(p + "self_attn.add", "add", {x, b.linear(p + "self_attn.o_proj", ctx)});
    const auto h2 = rms_norm(p + "post_attention_layernorm", x);
    const auto inner = b.op(p + "mlp.swiglu", "swiglu", {b.linear(p + "mlp.gate_proj", h2), b.linear(p + "mlp.up_proj", h2)});
    x = b.op(p + "mlp.add", "add", {x, b.linear(p + "mlp.down_proj", inner)});
  }
  x = rms_norm("model.norm", x);
  if (c.tie_word_embeddings) {
    b.linear("lm_head", x, b.param("model.embed_tokens.weight"), torch::Tensor(), "logits");
  } else {
    b.linear("lm_head", x, "logits");
  }
  b.graph.outputs = {"logits"};
  b.graph.metadata["sparrow.task"] = "causal_lm";
  b.graph.metadata["sparrow.context_length"] = c.max_position_embeddings;
  if (const auto t = llama.folder_files.find("tokenizer.json"); t != llama.folder_files.end()) {
    // Checked as the engine will read it, so that a bad tokenizer fails the export rather than the engine.
    text::BpeTokenizer::from_json(t->second, "tokenizer.json");
    b.graph.metadata["sparrow.tokenizer"] = {{"type", "bpe"}, {"tokenizer_json", nlohmann::json::parse(t->second)}};
  }
}

}  // namespace

LoweredGraph lower_model(models::Classifier& model) {
  Builder b(model);
  const nlohmann::json config = model.config();
  const std::string name = config.value("name", "");
  if (auto* bert = dynamic_cast<models::bert::BertForSequenceClassification*>(&model)) {
    lower_bert(b, *bert);
    b.graph.metadata["sparrow.labels"] = bert->labels;
  } else if (dynamic_cast<models::Cnn*>(&model)) {
    lower_cnn(b, config);
  } else if (dynamic_cast<models::ResNet*>(&model)) {
    lower_resnet(b, config);
  } else if (dynamic_cast<models::Mlp*>(&model)) {
    lower_mlp(b, config, config.at("hidden").size() + 1);
  } else if (auto* llama = dynamic_cast<models::llama::LlamaForCausalLM*>(&model)) {
    lower_llama(b, *llama);
  } else {
    throw BadInput("export: model '" + name + "' cannot be exported (the exporter knows cnn, resnet, mlp, bert and llama)");
  }
  if (b.graph.metadata["sparrow.task"] != "causal_lm" && !b.graph.metadata.contains("sparrow.labels")) {
    std::vector<std::string> labels;
    const auto logits = std::find_if(b.graph.ops.begin(), b.graph.ops.end(), [](const LoweredOp& o) { return o.output == "logits"; });
    const auto classes = logits->weights.at("weight").size(0);
    for (std::int64_t i = 0; i < classes; ++i) labels.push_back(std::to_string(i));
    b.graph.metadata["sparrow.labels"] = labels;
  }
  b.graph.metadata["sparrow.model"] = name;
  b.graph.metadata["sparrow.model_config"] = config;
  b.graph.quantizable = layer_names(model.prunable_parameters());
  return std::move(b.graph);
}

}  // namespace sparrow::exporter
