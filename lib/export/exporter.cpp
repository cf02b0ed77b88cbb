#include "export/exporter.h"

#include <algorithm>
#include <cmath>
#include <set>

#include <spdlog/spdlog.h>

#include "core/errors.h"
#include "core/files.h"
#include "data/random_images.h"
#include "data/text/text_dataset.h"
#include "export/interpret.h"
#include "models/bert/bert_folder.h"
#include "models/checkpoint.h"
#include "models/cnn.h"
#include "models/llama/llama_folder.h"
#include "models/mlp.h"
#include "models/resnet.h"
#include "models/safetensors.h"
#include "quant/scheme.h"
#include "recipe/recipe.h"

namespace sparrow::exporter {

namespace fmt = sparrow::format;

ActivationQuant activation_quant(float lo, float hi) {
  const quant::ActivationParams p = quant::activation_params(lo, hi);
  return {p.scale, p.zero_point, lo, hi};
}

namespace {

bool has_layer(const LoweredGraph& graph, const std::string& name) {
  return std::any_of(graph.ops.begin(), graph.ops.end(), [&](const LoweredOp& op) { return op.is_layer() && op.name == name; });
}

bool has_attention(const LoweredGraph& graph, const std::string& name) {
  return std::any_of(graph.ops.begin(), graph.ops.end(), [&](const LoweredOp& op) { return op.op == "attention" && op.name == name; });
}

// The scheme's weight quantization (quant::weight_scale, quant::quantize_weight) of each row of a 2-D weight,
// as contiguous INT8 weights and FP32 per-row scales.
std::pair<torch::Tensor, torch::Tensor> quantize_rows(const torch::Tensor& w) {
  const auto x = w.detach().to(torch::kFloat32).contiguous();
  const std::int64_t n = x.size(0), k = x.size(1);
  auto q = torch::empty({n, k}, torch::kInt8);
  auto scales = torch::empty({n}, torch::kFloat32);
  for (std::int64_t r = 0; r < n; ++r) {
    const float* row = x.data_ptr<float>() + r * k;
    float max_abs = 0.0f;
    for (std::int64_t c = 0; c < k; ++c) max_abs = std::max(max_abs, std::abs(row[c]));
    const float s = quant::weight_scale(max_abs);
    scales.data_ptr<float>()[r] = s;
    std::int8_t* out = q.data_ptr<std::int8_t>() + r * k;
    for (std::int64_t c = 0; c < k; ++c) out[c] = quant::quantize_weight(row[c], s);
  }
  return {q, scales};
}

// Share of 1x4 blocks (along K, zero-padded) whose 4 weights are all zero.
double block_sparsity(const torch::Tensor& w) {
  const std::int64_t n = w.size(0), k = w.size(1), k4 = (k + 3) / 4;
  const auto padded = torch::constant_pad_nd(w.ne(0), {0, k4 * 4 - k}).view({n, k4, 4});
  return 1.0 - padded.any(2).to(torch::kFloat64).mean().item<double>();
}

// The largest R in {4, 2} for which every group of R output rows (the last one ragged) has the same all-zero
// 1x4 blocks, i.e. the masked weight is made of R x 4 tiles as an [R,4] mask leaves it; else 1. Read from
// the FP32 weight, so a weight that rounds to 0 in INT8 cannot break a pattern the mask made.
std::size_t tile_rows(const torch::Tensor& w) {
  const std::int64_t n = w.size(0), k = w.size(1), k4 = (k + 3) / 4;
  const auto blocks = torch::constant_pad_nd(w.ne(0), {0, k4 * 4 - k}).view({n, k4, 4}).any(2).to(torch::kInt32);
  for (const std::int64_t r : {4, 2}) {
    const std::int64_t t = (n + r - 1) / r;
    // Padding channels copy the last row, so a ragged tile row is judged by its real rows only.
    const auto groups = torch::cat({blocks, blocks.slice(0, n - 1).repeat({t * r - n, 1})}).view({t, r, k4});
    if (groups.amax(1).equal(groups.amin(1))) return static_cast<std::size_t>(r);
  }
  return 1;
}

template <class T>
std::vector<T> to_vector(const torch::Tensor& t) {
  const auto c = t.contiguous();
  return std::vector<T>(c.data_ptr<T>(), c.data_ptr<T>() + c.numel());
}

nlohmann::json op_json(const std::string& name, const std::string& kind, const std::vector<std::string>& inputs,
                       const std::string& output, const nlohmann::json& attrs) {
  nlohmann::json op = {{"name", name}, {"op", kind}, {"inputs", inputs}, {"outputs", {output}}};
  if (!attrs.empty()) op["attrs"] = attrs;
  return op;
}

// An image checkpoint exported without its dataset's normalization (no calibration set was loaded) takes it,
// and its class names, from the dataset of the run that trained it: a compress output folder holds
// recipe.resolved.yaml beside checkpoint/. Without one the file stores none, and the engine takes normalized
// values (a debug line: `compress --json export` prints only its JSON, and stderr may be merged into it).
void take_run_dataset(const std::filesystem::path& dir, ExportOptions& options) {
  const auto recipe_file = dir.parent_path() / "recipe.resolved.yaml";
  if (!std::filesystem::exists(recipe_file)) {
    spdlog::debug("{}: no recipe.resolved.yaml beside the checkpoint to name its dataset: the file stores no input "
                  "normalization, so the engine takes the model's normalized input values, not raw pixels",
                  dir.string());
    return;
  }
  const recipe::Recipe r = recipe::load_recipe(recipe_file, {});
  // Text has no pixels; random images are already the model's inputs.
  if (data::text::is_text_dataset(r.data.dataset) || r.data.dataset == data::kRandomImages) return;
  recipe::DataSpec one_item = r.data;  // the normalization and names are the dataset's, not its items'
  one_item.test_limit = 1;
  const data::Dataset set = data::load_dataset(one_item, data::Split::Test);
  options.input_normalization = set.normalization;
  if (options.labels.empty()) options.labels = set.label_names;
}

}  // namespace

void read_quantization_json(const std::filesystem::path& file, const LoweredGraph& graph, ExportOptions& options) {
  const std::string src = file.string();
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_file(file));
  } catch (const nlohmann::json::exception& e) {
    throw BadInput(src + ": not valid JSON: " + e.what());
  }
  if (!j.is_object()) throw BadInput(src + ": expected an object of layer name -> {scale, zero_point, lo, hi}");
  const auto read = [](const nlohmann::json& v, const std::string& where) {
    const auto number = [&](const char* key) {
      if (!v.is_object() || !v.contains(key) || !v[key].is_number() || !std::isfinite(v[key].get<double>()))
        throw BadInput(where + ": \"" + key + "\" must be a finite number");
      return v[key].get<double>();
    };
    ActivationQuant q;
    q.scale = static_cast<float>(number("scale"));
    if (!(q.scale > 0)) throw BadInput(where + ": scale must be > 0");
    const double zp = number("zero_point");
    if (zp != std::floor(zp) || zp < 0 || zp > 255) throw BadInput(where + ": zero_point must be an integer in [0, 255]");
    q.zero_point = static_cast<std::int32_t>(zp);
    q.lo = static_cast<float>(number("lo"));
    q.hi = static_cast<float>(number("hi"));
    return q;
  };
  for (const auto& [name, v] : j.items()) {
    // An attention block's entry holds the ranges of its "q", "k" and "v".
    if (v.is_object() && v.contains("q")) {
      const std::string where = src + ": attention '" + name + "'";
      if (!has_attention(graph, name)) throw BadInput(where + " is not an attention op of this model");
      AttentionQuant a{read(v["q"], where + " q"), read(v.value("k", nlohmann::json()), where + " k"),
                       read(v.value("v", nlohmann::json()), where + " v")};
      for (const auto* q : {&a.k, &a.v}) {
        if (q->zero_point != quant::kSymmetricZeroPoint) throw BadInput(where + ": k and v need zero_point 128 (INT8 symmetric)");
      }
      options.attention[name] = a;
      continue;
    }
    const std::string where = src + ": layer '" + name + "'";
    if (!has_layer(graph, name)) throw BadInput(where + " is not a linear or conv2d layer of this model");
    options.activations[name] = read(v, where);
  }
}

std::map<std::string, ActivationQuant> calibrate(const LoweredGraph& graph, const std::vector<data::Batch>& batches) {
  std::map<std::string, std::pair<float, float>> ranges;
  const std::set<std::string> wanted(graph.quantizable.begin(), graph.quantizable.end());
  for (const auto& batch : batches) {
    interpret(graph, batch, [&](const LoweredOp& layer, const torch::Tensor& x) {
      if (!wanted.count(layer.name)) return;
      const float lo = x.min().item<float>(), hi = x.max().item<float>();
      auto [it, fresh] = ranges.try_emplace(layer.name, lo, hi);
      if (!fresh) it->second = {std::min(it->second.first, lo), std::max(it->second.second, hi)};
    });
  }
  std::map<std::string, ActivationQuant> out;
  for (const auto& [layer, r] : ranges) out[layer] = activation_quant(r.first, r.second);
  return out;
}

std::vector<data::Batch> calibration_batches(const data::Dataset& set, std::int64_t count, std::int64_t batch_size) {
  std::vector<data::Batch> batches;
  for (std::int64_t b = 0; b < count && b * batch_size < set.size(); ++b)
    batches.push_back(set.batch(torch::arange(b * batch_size, std::min(set.size(), (b + 1) * batch_size), torch::kInt64)));
  return batches;
}

fmt::Writer build_file(const LoweredGraph& graph, const ExportOptions& options, ExportSummary* summary) {
  torch::NoGradGuard no_grad;
  fmt::Writer writer;
  nlohmann::json ops = nlohmann::json::array();
  for (const auto& op : graph.ops) {
    if (!op.is_layer()) {
      std::vector<std::string> inputs = op.inputs;
      // INT8 attention: q, k and v each through a quantize op (docs/format.md "INT8 attention").
      if (const auto a = options.attention.find(op.name); a != options.attention.end()) {
        const std::pair<const char*, const ActivationQuant*> operands[] = {{"q", &a->second.q}, {"k", &a->second.k}, {"v", &a->second.v}};
        for (std::size_t i = 0; i < 3; ++i) {
          const auto& [role, q] = operands[i];
          const std::string out = op.name + "." + role + ".q";
          ops.push_back(op_json(op.name + "." + role + ".quantize", "quantize", {inputs[i]}, out,
                                {{"scale", q->scale}, {"zero_point", q->zero_point}}));
          inputs[i] = out;
        }
      }
      nlohmann::json o = op_json(op.name, op.op, inputs, op.output, op.attrs);
      for (const auto& [role, t] : op.weights) {
        const auto c = t.to(torch::kFloat32).contiguous();
        std::vector<std::uint64_t> dims(c.sizes().begin(), c.sizes().end());
        writer.add_tensor(op.name + "." + role, fmt::DType::f32, dims, c.data_ptr<float>(), c.numel() * sizeof(float));
        o["weights"][role] = op.name + "." + role;
      }
      ops.push_back(o);
      continue;
    }
    const torch::Tensor w = op.weights.at("weight");
    const std::size_t n = static_cast<std::size_t>(w.size(0)), k = static_cast<std::size_t>(w.size(1));
    LayerSummary layer{op.name, op.op, fmt::WeightFormat::fp32, w.size(0), w.size(1), 0.0, 1, 0, 0};
    nlohmann::json attrs = op.attrs;
    std::string input = op.inputs.at(0);
    fmt::PackedWeights packed;
    const auto quant = options.activations.find(op.name);
    if (quant != options.activations.end()) {
      const auto [q, scales] = quantize_rows(w);
      layer.block_sparsity = block_sparsity(q);
      // Column indices are at most 16 bits: wider layers (K > 262144) stay dense.
      const auto index = fmt::block_k4_dtype_for(fmt::k4_of(k));
      layer.format = layer.block_sparsity >= options.min_sparse_fraction && index ? fmt::WeightFormat::sparse_int8
                                                                                 : fmt::WeightFormat::dense_int8;
      if (layer.format == fmt::WeightFormat::sparse_int8) layer.block_rows = tile_rows(w);
      packed = layer.format == fmt::WeightFormat::sparse_int8 ? fmt::pack_sparse_int8(q.data_ptr<std::int8_t>(), n, k, layer.block_rows)
                                                              : fmt::pack_dense_int8(q.data_ptr<std::int8_t>(), n, k);
      packed.scale = to_vector<float>(scales);
      const nlohmann::json qattrs = {{"scale", quant->second.scale}, {"zero_point", quant->second.zero_point}};
      ops.push_back(op_json(op.name + ".quantize", "quantize", {input}, op.name + ".in.q", qattrs));
      input = op.name + ".in.q";
      attrs["input_scale"] = quant->second.scale;
      attrs["input_zero_point"] = quant->second.zero_point;
      if (layer.format == fmt::WeightFormat::sparse_int8) {
        attrs["block_rows"] = packed.block_rows;
        attrs["block_k4_dtype"] = fmt::dtype_name(packed.block_k4_dtype);
      }
    } else {
      layer.block_sparsity = block_sparsity(w);
      packed = fmt::pack_fp32(w.contiguous().data_ptr<float>(), n, k);
    }
    if (op.weights.count("bias") && op.weights.at("bias").defined()) packed.bias = to_vector<float>(op.weights.at("bias"));
    attrs["weight_format"] = fmt::weight_format_name(layer.format);
    nlohmann::json o = op_json(op.name, op.op, {input}, op.output, attrs);
    o["weights"] = writer.add_weights(op.name, packed);
    layer.stored_bytes = fmt::stored_bytes(packed.view());
    layer.dense_fp32_bytes = fmt::dense_fp32_bytes(packed.view());
    ops.push_back(o);
    if (summary) summary->layers.push_back(layer);
  }

  nlohmann::json metadata = graph.metadata;
  if (!options.labels.empty()) metadata["sparrow.labels"] = options.labels;
  metadata["sparrow.quantization"] = options.quantization_source;
  metadata["sparrow.version"] = SPARROW_VERSION;
  if (!options.recipe_sha256.empty()) metadata["sparrow.recipe_sha256"] = options.recipe_sha256;
  if (options.trainer_accuracy) metadata["sparrow.trainer_accuracy"] = *options.trainer_accuracy;
  if (options.input_normalization) metadata[fmt::kInputNormalizationKey] = fmt::to_json(*options.input_normalization);
  for (const auto& [key, value] : options.metadata) metadata[key] = value;
  nlohmann::json inputs = nlohmann::json::array(), outputs = nlohmann::json::array();
  for (const auto& in : graph.inputs) inputs.push_back({{"name", in.name}, {"dtype", in.dtype}, {"shape", in.shape}});
  for (const auto& out : graph.outputs) outputs.push_back({{"name", out}});
  writer.set_graph({{"metadata", metadata}, {"inputs", inputs}, {"outputs", outputs}, {"ops", ops}});
  return writer;
}

double LayerTotals::ratio() const {
  return stored_bytes == 0 ? 0.0 : static_cast<double>(dense_fp32_bytes) / static_cast<double>(stored_bytes);
}

LayerTotals layer_totals(const ExportSummary& summary, bool encoder_only) {
  LayerTotals t;
  for (const auto& l : summary.layers) {
    if (encoder_only && !fmt::is_encoder_linear(l.name, l.op)) continue;
    ++t.layers;
    t.stored_bytes += l.stored_bytes;
    t.dense_fp32_bytes += l.dense_fp32_bytes;
  }
  return t;
}

ExportSummary export_model(models::Classifier& model, const std::filesystem::path& out, const ExportOptions& options) {
  const LoweredGraph graph = lower_model(model);
  for (const auto& [layer, q] : options.activations)
    if (!has_layer(graph, layer)) throw BadInput("export: activation quantization names layer '" + layer + "', which the model does not have");
  for (const auto& [block, q] : options.attention) {
    if (!has_attention(graph, block))
      throw BadInput("export: INT8 attention names '" + block + "', which is not an attention op of the model");
  }
  ExportSummary summary;
  const std::string bytes = build_file(graph, options, &summary).serialize();
  write_file_atomic(out, bytes);
  summary.file = out;
  summary.file_bytes = bytes.size();
  return summary;
}

ExportSummary export_checkpoint(const std::filesystem::path& dir, const std::filesystem::path& out, ExportOptions options,
                                const std::vector<data::Batch>& calibration) {
  if (!std::filesystem::is_directory(dir)) throw BadInput(dir.string() + ": not a checkpoint folder");
  std::shared_ptr<models::Classifier> model;
  if (models::bert::is_bert_folder(dir)) {
    model = models::bert::load_bert_folder(dir, /*allow_new_head=*/false);
  } else if (models::llama::is_llama_folder(dir)) {
    model = models::llama::load_llama_folder(dir);
  } else {
    model = models::load_checkpoint(dir);
  }
  model->eval();
  // Text models (BERT, Llama) take ids: no pixel normalization to find.
  const bool image_model = dynamic_cast<models::Cnn*>(model.get()) != nullptr || dynamic_cast<models::ResNet*>(model.get()) != nullptr ||
                           dynamic_cast<models::Mlp*>(model.get()) != nullptr;
  if (image_model && !options.input_normalization) take_run_dataset(dir, options);
  const LoweredGraph graph = lower_model(*model);
  if (std::filesystem::exists(dir / "quantization.json")) {
    read_quantization_json(dir / "quantization.json", graph, options);
    options.quantization_source = "quantization.json";
  } else if (!calibration.empty()) {
    options.activations = calibrate(graph, calibration);
    options.quantization_source = "calibration";
  }
  if (options.recipe_sha256.empty() && std::filesystem::exists(dir / "model.safetensors")) {
    const auto meta = models::read_safetensors(dir / "model.safetensors").metadata;
    if (const auto it = meta.find("recipe_sha256"); it != meta.end()) options.recipe_sha256 = it->second;
  }
  const auto report = dir.parent_path() / "report.json";
  if (!options.trainer_accuracy && std::filesystem::exists(report)) {
    const auto j = nlohmann::json::parse(read_file(report), nullptr, /*allow_exceptions=*/false);
    if (j.is_object() && j.contains("compressed") && j["compressed"].is_object() && j["compressed"].contains("accuracy") &&
        j["compressed"]["accuracy"].is_number())
      options.trainer_accuracy = j["compressed"]["accuracy"].get<double>();
  }
  return export_model(*model, out, options);
}

}  // namespace sparrow::exporter
