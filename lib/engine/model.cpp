#include "engine/model.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "core/errors.h"
#include "quant/scheme.h"

namespace sparrow::engine {

namespace {

using nlohmann::json;

// Reads one op's attrs and weights with messages naming the file and op.
class OpReader {
 public:
  OpReader(const format::File& file, const json& op) : file_(file), op_(op) {
    where_ = file.source() + ": op '" + op["name"].get<std::string>() + "'";
    static const json kEmpty = json::object();
    attrs_ = op.contains("attrs") ? &op["attrs"] : &kEmpty;
  }
  const std::string& where() const { return where_; }

  bool has(const char* key) const { return attrs_->contains(key); }
  std::int64_t integer(const char* key, std::int64_t lo, std::int64_t hi) const {
    const json& v = attr(key);
    if (!v.is_number_integer() || v.get<std::int64_t>() < lo || v.get<std::int64_t>() > hi)
      fail("\"" + std::string(key) + "\" must be an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
    return v.get<std::int64_t>();
  }
  double number(const char* key) const {
    const json& v = attr(key);
    if (!v.is_number() || !std::isfinite(v.get<double>())) fail("\"" + std::string(key) + "\" must be a finite number");
    return v.get<double>();
  }
  std::string str(const char* key) const {
    const json& v = attr(key);
    if (!v.is_string()) fail("\"" + std::string(key) + "\" must be a string");
    return v.get<std::string>();
  }
  // A pair attribute the engine supports only with equal members (square kernels, same stride both ways).
  std::size_t square(const char* key, std::int64_t lo, std::int64_t hi) const {
    const json& v = attr(key);
    if (!v.is_array() || v.size() != 2 || !v[0].is_number_integer() || !v[1].is_number_integer())
      fail("\"" + std::string(key) + "\" must be an array of 2 integers");
    const std::int64_t a = v[0].get<std::int64_t>(), b = v[1].get<std::int64_t>();
    if (a != b) fail("\"" + std::string(key) + "\" must have equal members (the engine runs square windows only)");
    if (a < lo || a > hi) fail("\"" + std::string(key) + "\" is out of range [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
    return static_cast<std::size_t>(a);
  }
  // An FP32 weight tensor of the given rank; returns its data and dims.
  const float* f32_weight(const char* role, std::size_t rank, std::vector<std::uint64_t>* dims) const {
    if (!op_.contains("weights") || !op_["weights"].contains(role)) fail("missing weight \"" + std::string(role) + "\"");
    const format::TensorInfo* t = file_.find(op_["weights"][role].get<std::string>());
    if (t == nullptr) fail("weight \"" + std::string(role) + "\" names a missing tensor");
    if (t->dtype != format::DType::f32 || t->dims.size() != rank)
      fail("weight \"" + std::string(role) + "\" must be f32 of rank " + std::to_string(rank));
    *dims = t->dims;
    return file_.data_as<float>(*t);
  }
  [[noreturn]] void fail(const std::string& what) const { throw BadInput(where_ + ": " + what); }

 private:
  const json& attr(const char* key) const {
    if (!attrs_->contains(key)) fail("missing attribute \"" + std::string(key) + "\"");
    return (*attrs_)[key];
  }
  const format::File& file_;
  const json& op_;
  const json* attrs_;
  std::string where_;
};

const std::map<std::string, OpKind> kKinds = {
    {"quantize", OpKind::quantize}, {"dequantize", OpKind::dequantize}, {"linear", OpKind::linear},
    {"conv2d", OpKind::conv2d},     {"embedding", OpKind::embedding},   {"layer_norm", OpKind::layer_norm},
    {"gelu", OpKind::gelu},         {"relu", OpKind::relu},             {"tanh", OpKind::tanh},
    {"softmax", OpKind::softmax},   {"add", OpKind::add},               {"attention", OpKind::attention},
    {"flatten", OpKind::flatten},   {"rms_norm", OpKind::rms_norm},     {"rotary", OpKind::rotary},
    {"swiglu", OpKind::swiglu},     {"causal_attention", OpKind::causal_attention},
};

}  // namespace

const char* op_kind_name(OpKind kind) {
  switch (kind) {
    case OpKind::quantize: return "quantize";
    case OpKind::dequantize: return "dequantize";
    case OpKind::linear: return "linear";
    case OpKind::conv2d: return "conv2d";
    case OpKind::embedding: return "embedding";
    case OpKind::layer_norm: return "layer_norm";
    case OpKind::gelu: return "gelu";
    case OpKind::relu: return "relu";
    case OpKind::tanh: return "tanh";
    case OpKind::softmax: return "softmax";
    case OpKind::add: return "add";
    case OpKind::attention: return "attention";
    case OpKind::max_pool: return "max_pool";
    case OpKind::global_avg_pool: return "global_avg_pool";
    case OpKind::first_token: return "first_token";
    case OpKind::flatten: return "flatten";
    case OpKind::rms_norm: return "rms_norm";
    case OpKind::rotary: return "rotary";
    case OpKind::swiglu: return "swiglu";
    case OpKind::causal_attention: return "causal_attention";
  }
  return "?";
}

std::shared_ptr<const Model> Model::load(const std::filesystem::path& path) { return from_file(format::File::open(path)); }

std::shared_ptr<const Model> Model::from_file(format::File file) {
  std::shared_ptr<Model> m(new Model(std::move(file)));
  m->build();
  m->read_metadata();
  return m;
}

std::optional<std::size_t> Model::find_value(const std::string& name) const {
  for (std::size_t i = 0; i < values_.size(); ++i)
    if (values_[i].name == name) return i;
  return std::nullopt;
}

void Model::build() {
  const json& g = file_.graph();
  std::map<std::string, std::size_t> by_name;
  const auto add_value = [&](const std::string& name, ValueType type) {
    by_name[name] = values_.size();
    values_.push_back({name, type});
    return values_.size() - 1;
  };
  for (const auto& in : g["inputs"]) {
    const std::string dtype = in["dtype"];
    const std::string name = in["name"];
    if (dtype != "f32" && dtype != "i64")
      throw BadInput(file_.source() + ": input '" + name + "': dtype " + dtype + " is not supported (f32 or i64)");
    Input input{add_value(name, dtype == "f32" ? ValueType::f32 : ValueType::i64), in["shape"].get<std::vector<std::int64_t>>()};
    inputs_.push_back(input);
  }
  for (const auto& o : g["ops"]) {
    OpReader r(file_, o);
    Op op;
    op.name = o["name"];
    const std::string kind = o["op"];
    for (const auto& name : o["inputs"]) op.inputs.push_back(by_name.at(name.get<std::string>()));
    const auto input_type = [&](std::size_t i) { return values_[op.inputs[i]].type; };
    const auto expect = [&](std::size_t i, ValueType t, const char* what) {
      if (input_type(i) != t) r.fail(std::string("input ") + std::to_string(i) + " must be " + what);
    };
    ValueType out_type = ValueType::f32;
    if (kind == "pooling") {
      const std::string mode = r.str("mode");
      if (mode == "max") {
        op.kind = OpKind::max_pool;
        op.kernel = r.square("kernel", 1, 64);
        op.stride = r.square("stride", 1, 64);
        // At most half the window, as PyTorch allows: every window then holds a pixel of the image.
        op.pad = r.has("padding") ? r.square("padding", 0, op.kernel / 2) : 0;
      } else if (mode == "global_avg") {
        op.kind = OpKind::global_avg_pool;
      } else if (mode == "first_token") {
        op.kind = OpKind::first_token;
      } else {
        r.fail("pooling mode \"" + mode + "\" is not supported (max, global_avg, first_token)");
      }
      expect(0, ValueType::f32, "f32");
    } else {
      const auto it = kKinds.find(kind);
      if (it == kKinds.end()) r.fail("op kind \"" + kind + "\" is not supported by this engine");
      op.kind = it->second;
    }
    switch (op.kind) {
      case OpKind::quantize:
        expect(0, ValueType::f32, "f32");
        op.scale = static_cast<float>(r.number("scale"));
        op.zero_point = static_cast<std::int32_t>(r.integer("zero_point", 0, 255));
        out_type = ValueType::u8;
        break;
      case OpKind::dequantize:
        expect(0, ValueType::u8, "u8");
        op.scale = static_cast<float>(r.number("scale"));
        op.zero_point = static_cast<std::int32_t>(r.integer("zero_point", 0, 255));
        break;
      case OpKind::linear:
      case OpKind::conv2d: {
        op.weights = std::make_shared<const LinearWeights>(kernel_weights(file_.weights(o), r.where()));
        const bool int8 = op.weights->format != format::WeightFormat::fp32;
        if (int8) {
          op.scale = static_cast<float>(r.number("input_scale"));
          op.zero_point = static_cast<std::int32_t>(r.integer("input_zero_point", 0, 255));
        }
        expect(0, int8 ? ValueType::u8 : ValueType::f32, int8 ? "u8 (an INT8 layer)" : "f32 (an FP32 layer)");
        if (op.kind == OpKind::conv2d) {
          op.in_channels = static_cast<std::size_t>(r.integer("in_channels", 1, 1 << 20));
          if (static_cast<std::size_t>(r.integer("out_channels", 1, 1 << 20)) != op.weights->n) r.fail("out_channels differs from out_features");
          op.kernel = r.square("kernel", 1, 64);
          op.stride = r.square("stride", 1, 64);
          op.pad = r.has("padding") ? r.square("padding", 0, 64) : 0;
          const std::string order = r.has("patch_order") ? r.str("patch_order") : "chw";
          op.channels_innermost = order == "hwc";
          if (order != "chw" && !(op.channels_innermost && op.in_channels % 4 == 0))
            r.fail("patch_order must be \"chw\", or \"hwc\" with in_channels a multiple of 4");
          if (op.in_channels * op.kernel * op.kernel != op.weights->k) r.fail("in_features differs from in_channels * kernel^2");
        }
        break;
      }
      case OpKind::embedding: {
        expect(0, ValueType::i64, "i64 ids");
        std::vector<std::uint64_t> dims;
        op.table = r.f32_weight("table", 2, &dims);
        op.rows = dims[0];
        op.width = dims[1];
        const std::string indices = r.str("indices");
        if (indices == "ids") {
          op.indices = EmbeddingIndices::ids;
        } else if (indices == "positions") {
          op.indices = EmbeddingIndices::positions;
        } else if (indices == "constant") {
          op.indices = EmbeddingIndices::constant;
          op.index = static_cast<std::size_t>(r.integer("index", 0, static_cast<std::int64_t>(op.rows) - 1));
        } else {
          r.fail("embedding indices \"" + indices + "\" unknown (ids, positions, constant)");
        }
        break;
      }
      case OpKind::layer_norm: {
        expect(0, ValueType::f32, "f32");
        std::vector<std::uint64_t> g_dims, b_dims;
        op.gamma = r.f32_weight("gamma", 1, &g_dims);
        op.beta = r.f32_weight("beta", 1, &b_dims);
        if (g_dims != b_dims) r.fail("gamma and beta differ in size");
        op.width = g_dims[0];
        op.eps = static_cast<float>(r.number("eps"));
        if (!(op.eps > 0)) r.fail("\"eps\" must be > 0");
        break;
      }
      case OpKind::attention: {
        // FP32, or INT8 when q, k and v are UINT8 from quantize ops (their parameters are the attention's).
        const bool int8 = input_type(0) == ValueType::u8;
        for (std::size_t i = 0; i < 3; ++i) expect(i, int8 ? ValueType::u8 : ValueType::f32, int8 ? "u8 (INT8 attention)" : "f32");
        if (int8) {
          const auto quantizer = [&](std::size_t i) -> const Op& {
            const auto p = std::find_if(ops_.begin(), ops_.end(), [&](const Op& c) { return c.output == op.inputs[i]; });
            if (p == ops_.end() || p->kind != OpKind::quantize) r.fail("INT8 attention: input " + std::to_string(i) + " must come from a quantize op");
            return *p;
          };
          op.scale = quantizer(0).scale;
          op.zero_point = quantizer(0).zero_point;
          for (std::size_t i = 1; i < 3; ++i) {
            if (quantizer(i).zero_point != quant::kSymmetricZeroPoint)
              r.fail("INT8 attention: " + std::string(i == 1 ? "k" : "v") + " must be quantized with zero_point 128 (INT8 symmetric)");
          }
          op.key_scale = quantizer(1).scale;
          op.value_scale = quantizer(2).scale;
          op.int8_attention = true;
        }
        if (op.inputs.size() > 3) expect(3, ValueType::i64, "an i64 mask");
        op.heads = static_cast<std::size_t>(r.integer("heads", 1, 4096));
        op.head_size = static_cast<std::size_t>(r.integer("head_size", 1, 1 << 16));
        break;
      }
      case OpKind::add:
      case OpKind::swiglu:
        expect(0, ValueType::f32, "f32");
        expect(1, ValueType::f32, "f32");
        break;
      case OpKind::rms_norm: {
        expect(0, ValueType::f32, "f32");
        std::vector<std::uint64_t> dims;
        op.gamma = r.f32_weight("gamma", 1, &dims);
        op.width = dims[0];
        op.eps = static_cast<float>(r.number("eps"));
        if (!(op.eps > 0)) r.fail("\"eps\" must be > 0");
        break;
      }
      case OpKind::rotary:
        expect(0, ValueType::f32, "f32");
        op.heads = static_cast<std::size_t>(r.integer("heads", 1, 4096));
        op.head_size = static_cast<std::size_t>(r.integer("head_size", 2, 1 << 16));
        op.theta = static_cast<float>(r.number("theta"));
        if (op.head_size % 2 != 0 || !(op.theta > 0)) r.fail("head_size must be even and theta > 0");
        break;
      case OpKind::causal_attention: {
        for (std::size_t i = 0; i < 3; ++i) expect(i, ValueType::f32, "f32");
        op.heads = static_cast<std::size_t>(r.integer("heads", 1, 4096));
        op.kv_heads = static_cast<std::size_t>(r.integer("kv_heads", 1, 4096));
        op.head_size = static_cast<std::size_t>(r.integer("head_size", 1, 1 << 16));
        if (op.heads % op.kv_heads != 0) r.fail("heads must be a multiple of kv_heads");
        op.cache_slot = cache_shape_.layers++;
        // One cache block shape for every layer: [layers][kv_heads][context][head_size].
        if (op.cache_slot == 0) {
          cache_shape_.kv_heads = op.kv_heads;
          cache_shape_.head_size = op.head_size;
        } else if (cache_shape_.kv_heads != op.kv_heads || cache_shape_.head_size != op.head_size) {
          r.fail("kv_heads and head_size differ from the first causal_attention op's (the engine's KV cache needs one shape)");
        }
        break;
      }
      case OpKind::flatten:
        op.start_dim = static_cast<std::size_t>(r.integer("start_dim", 1, 3));
        out_type = input_type(0);
        break;
      default:
        expect(0, ValueType::f32, "f32");
        break;
    }
    op.output = add_value(o["outputs"][0].get<std::string>(), out_type);
    ops_.push_back(std::move(op));
  }
  for (const auto& out : g["outputs"]) outputs_.push_back(by_name.at(out["name"].get<std::string>()));

  // Fold each quantize op into the INT8 layers that consume it (they quantize while packing their input).
  for (auto& q : ops_) {
    if (q.kind != OpKind::quantize) continue;
    bool only_layers = std::find(outputs_.begin(), outputs_.end(), q.output) == outputs_.end(), used = false;
    for (const auto& c : ops_) {
      for (const std::size_t in : c.inputs) {
        if (in != q.output) continue;
        used = true;
        const bool int8_layer = (c.kind == OpKind::linear || c.kind == OpKind::conv2d) && c.weights->format != format::WeightFormat::fp32;
        // The format's checks made its input_scale and input_zero_point equal to this op's.
        if (!int8_layer) only_layers = false;
      }
    }
    q.folded = used && only_layers;
  }
  for (auto& c : ops_) {
    if ((c.kind != OpKind::linear && c.kind != OpKind::conv2d) || c.weights->format == format::WeightFormat::fp32) continue;
    const auto producer = std::find_if(ops_.begin(), ops_.end(), [&](const Op& p) { return p.output == c.inputs[0]; });
    if (producer == ops_.end() || producer->kind != OpKind::quantize || !producer->folded)
      throw BadInput(file_.source() + ": op '" + c.name + "': an INT8 layer's input must come from a quantize op used only by INT8 layers");
    c.inputs[0] = producer->inputs[0];
  }
  // The op writing value x when `reader` is the only thing that reads x (no other op, not a graph output).
  const auto sole_producer = [&](std::size_t x, const Op& reader) -> Op* {
    const auto producer = std::find_if(ops_.begin(), ops_.end(), [&](const Op& p) { return !p.folded && p.output == x; });
    const bool read_elsewhere = std::find(outputs_.begin(), outputs_.end(), x) != outputs_.end() ||
                                std::any_of(ops_.begin(), ops_.end(), [&](const Op& c) {
                                  return &c != &reader && std::find(c.inputs.begin(), c.inputs.end(), x) != c.inputs.end();
                                });
    return producer == ops_.end() || read_elsewhere ? nullptr : &*producer;
  };
  // Fold each gelu or relu op into the linear or conv2d feeding it alone: the activation in the GEMM's
  // epilogue saves a pass over the widest activations there are (BERT's FFN, a CNN's feature maps). A relu
  // after an add it alone reads (a residual block's end) is folded into the add's pass likewise.
  for (auto& act : ops_) {
    if (act.kind != OpKind::gelu && act.kind != OpKind::relu) continue;
    Op* producer = sole_producer(act.inputs[0], act);
    const bool layer = producer != nullptr && (producer->kind == OpKind::linear || producer->kind == OpKind::conv2d);
    const bool sum = producer != nullptr && producer->kind == OpKind::add && act.kind == OpKind::relu;
    if (!(layer || sum) || producer->activation != kernels::Activation::none) continue;
    producer->activation = act.kind == OpKind::gelu ? kernels::Activation::gelu : kernels::Activation::relu;
    producer->output = act.output;
    act.folded = true;
  }
  // Fold each quantize op into the INT8 linear feeding it alone (INT8 attention's Q, K and V): the epilogue
  // requantizes, and the FP32 output never goes through the arena.
  for (auto& q : ops_) {
    if (q.kind != OpKind::quantize || q.folded) continue;
    Op* producer = sole_producer(q.inputs[0], q);
    if (producer == nullptr || producer->kind != OpKind::linear || producer->weights->format == format::WeightFormat::fp32 ||
        producer->requantize)
      continue;
    producer->requantize = quant::ActivationParams{q.scale, q.zero_point};
    producer->output = q.output;
    q.folded = true;
  }
  // Fold each add of an INT8 conv2d's FP32 output (read by the add alone) and a value computed before that conv
  // into the conv (ResNet's relu(convs(x) + shortcut)): the epilogue adds the other value, the residual, before
  // the add's activation, and writes the add's output; the sum's pass over the map never happens.
  const auto produced_before = [&](std::size_t v, const Op* op) {
    for (const Op* o = ops_.data(); o != op; ++o)
      if (!o->folded && o->output == v) return true;
    return std::any_of(inputs_.begin(), inputs_.end(), [&](const Input& in) { return in.value == v; });
  };
  for (auto& add : ops_) {
    if (add.kind != OpKind::add || add.folded) continue;
    for (std::size_t side = 0; side < 2; ++side) {
      Op* conv = sole_producer(add.inputs[side], add);
      const std::size_t residual = add.inputs[1 - side];
      if (conv == nullptr || conv->kind != OpKind::conv2d || conv->weights->format == format::WeightFormat::fp32 ||
          conv->activation != kernels::Activation::none || conv->requantize || conv->inputs.size() != 1 ||
          residual == conv->inputs[0] || !produced_before(residual, conv))
        continue;
      conv->inputs.push_back(residual);
      conv->activation = add.activation;
      conv->output = add.output;
      add.folded = true;
      break;
    }
  }
  // The UINT8 feature-map fold. A CNN's INT8 conv2d -> (relu) -> (max pooling) -> INT8 conv2d(s) reading alike: the first conv's epilogue
  // requantizes with the readers' input parameters, the pooling takes maxima of the bytes, and the readers
  // gather bytes. Quantization is monotonic, so the maximum of quantized values is the quantized maximum: the
  // result is the FP32 path's, bit for bit, and the feature map goes through the arena as a quarter of the
  // bytes, quantized once.
  const auto int8_conv = [](const Op& op) {
    return op.kind == OpKind::conv2d && op.weights->format != format::WeightFormat::fp32;
  };
  const auto readers_of = [&](std::size_t v) {
    std::vector<Op*> readers;
    for (auto& r : ops_)
      if (!r.folded && std::find(r.inputs.begin(), r.inputs.end(), v) != r.inputs.end()) readers.push_back(&r);
    return readers;
  };
  const auto is_output = [&](std::size_t v) { return std::find(outputs_.begin(), outputs_.end(), v) != outputs_.end(); };
  for (auto& conv : ops_) {
    // A conv with a residual writes FP32: its UINT8 epilogues take none.
    if (conv.folded || !int8_conv(conv) || conv.requantize || conv.inputs.size() > 1 || is_output(conv.output)) continue;
    std::vector<Op*> readers = readers_of(conv.output);
    Op* pool = readers.size() == 1 && readers[0]->kind == OpKind::max_pool ? readers[0] : nullptr;
    if (pool != nullptr) {
      if (is_output(pool->output)) continue;
      readers = readers_of(pool->output);
    }
    const std::size_t map = pool != nullptr ? pool->output : conv.output;
    const bool alike = !readers.empty() && std::all_of(readers.begin(), readers.end(), [&](const Op* r) {
      return int8_conv(*r) && r->inputs[0] == map && (r->inputs.size() == 1 || r->inputs[1] != map) &&
             r->scale == readers[0]->scale && r->zero_point == readers[0]->zero_point;
    });
    if (!alike) continue;
    conv.requantize = quant::ActivationParams{readers[0]->scale, readers[0]->zero_point};
    values_[conv.output].type = ValueType::u8;
    if (pool != nullptr) {
      values_[pool->output].type = ValueType::u8;
      pool->reads_u8 = true;
    }
    for (Op* r : readers) r->reads_u8 = true;
  }
  // Fold each add into the layer norm reading it alone (BERT's residual connections): the norm forms the sum
  // row by row in its output and normalizes it there, so the sum never goes through the arena.
  for (auto& norm : ops_) {
    if (norm.kind != OpKind::layer_norm || norm.inputs.size() != 1) continue;
    Op* producer = sole_producer(norm.inputs[0], norm);
    if (producer == nullptr || producer->kind != OpKind::add) continue;
    norm.inputs = producer->inputs;
    producer->folded = true;
  }
}

void Model::read_metadata() {
  const json& m = file_.metadata();
  const std::string src = file_.source() + ": metadata";
  if (m.contains("sparrow.labels") && m["sparrow.labels"].is_array())
    for (const auto& l : m["sparrow.labels"]) labels_.push_back(l.is_string() ? l.get<std::string>() : l.dump());
  if (m.contains("sparrow.task") && m["sparrow.task"] == "causal_lm") {
    read_causal_lm_metadata();
    return;
  }
  if (cache_shape_.layers > 0) throw BadInput(src + ": causal_attention ops need sparrow.task \"causal_lm\"");
  const bool has_ids = std::any_of(inputs_.begin(), inputs_.end(), [&](const Input& in) { return values_[in.value].type == ValueType::i64; });
  if (has_ids) {
    if (!m.contains("sparrow.tokenizer") || !m["sparrow.tokenizer"].is_object())
      throw BadInput(src + ": a text model needs \"sparrow.tokenizer\"");
    const json& t = m["sparrow.tokenizer"];
    try {
      if (t.value("type", "") != "wordpiece") throw BadInput(src + ": sparrow.tokenizer.type must be \"wordpiece\"");
      text::BasicTokenizerOptions o;
      o.do_lower_case = t.at("do_lower_case").get<bool>();
      o.strip_accents = t.at("strip_accents").get<bool>();
      o.tokenize_chinese_chars = t.at("tokenize_chinese_chars").get<bool>();
      tokenizer_ = std::make_unique<text::Tokenizer>(t.at("vocab").get<std::vector<std::string>>(), o, src + ": sparrow.tokenizer");
      const std::int64_t max_len = t.at("max_seq_length").get<std::int64_t>();
      if (max_len < 2 || max_len > 4096) throw BadInput(src + ": sparrow.tokenizer.max_seq_length must be in [2, 4096]");
      max_seq_length_ = static_cast<std::size_t>(max_len);
    } catch (const json::exception& e) {
      throw BadInput(src + ": sparrow.tokenizer: " + e.what());
    }
  } else {
    if (inputs_.size() != 1) throw BadInput(file_.source() + ": an image model must have exactly one f32 input");
    std::size_t elements = 1;
    const auto& shape = inputs_[0].shape;
    for (std::size_t d = 1; d < shape.size(); ++d) {
      if (shape[d] <= 0) throw BadInput(file_.source() + ": input '" + values_[inputs_[0].value].name + "': only the batch dimension may be -1");
      elements *= static_cast<std::size_t>(shape[d]);
    }
    item_elements_ = elements;
    input_normalization_ = format::read_input_normalization(file_.graph(), file_.source());
  }
}

void Model::read_causal_lm_metadata() {
  const json& m = file_.metadata();
  const std::string src = file_.source() + ": metadata";
  causal_lm_ = true;
  if (inputs_.size() != 1 || values_[inputs_[0].value].type != ValueType::i64 || inputs_[0].shape.size() != 2)
    throw BadInput(file_.source() + ": a causal LM takes one input, i64 token ids [batch, length]");
  if (cache_shape_.layers == 0) throw BadInput(file_.source() + ": a causal LM needs causal_attention ops");
  const auto context = m.find("sparrow.context_length");
  if (context == m.end() || !context->is_number_integer() || context->get<std::int64_t>() < 1 ||
      context->get<std::int64_t>() > (1 << 20))
    throw BadInput(src + ": sparrow.context_length must be an integer in [1, 1048576]");
  context_length_ = context->get<std::size_t>();
  const auto t = m.find("sparrow.tokenizer");
  if (t == m.end()) return;  // ids in, ids out
  if (!t->is_object() || t->value("type", "") != "bpe" || !t->contains("tokenizer_json") || !(*t)["tokenizer_json"].is_object())
    throw BadInput(src + ": sparrow.tokenizer of a causal LM must be {\"type\": \"bpe\", \"tokenizer_json\": {...}}");
  bpe_tokenizer_ = std::make_unique<text::BpeTokenizer>(
      text::BpeTokenizer::from_json((*t)["tokenizer_json"].dump(), src + ": sparrow.tokenizer.tokenizer_json"));
}

}  // namespace sparrow::engine
