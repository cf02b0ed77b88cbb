#include "engine/plan.h"

#include <algorithm>
#include <map>
#include <string>

#include "core/errors.h"
#include "engine/kernels/ops.h"
#include "engine/kernels/quant.h"

namespace sparrow::engine {

namespace {

std::size_t aligned(std::size_t bytes) { return arena_aligned(bytes); }

std::size_t product(const std::vector<std::size_t>& s, std::size_t from = 0) {
  std::size_t p = 1;
  for (auto it = s.begin() + static_cast<std::ptrdiff_t>(std::min(from, s.size())); it != s.end(); ++it) p *= *it;
  return p;
}

std::string shape_text(const std::vector<std::size_t>& s) {
  std::string t = "[";
  for (std::size_t i = 0; i < s.size(); ++i) t += (i ? ", " : "") + std::to_string(s[i]);
  return t + "]";
}

std::size_t type_size(ValueType t) { return t == ValueType::f32 ? 4 : t == ValueType::i64 ? 8 : 1; }

// First-fit placement of live byte ranges.
class Arena {
 public:
  std::size_t allocate(std::size_t bytes) {
    bytes = aligned(std::max<std::size_t>(bytes, 1));
    std::size_t at = 0;
    for (const auto& [begin, end] : live_) {
      if (begin >= at + bytes) break;
      at = std::max(at, end);
    }
    live_.emplace(at, at + bytes);
    peak_ = std::max(peak_, at + bytes);
    return at;
  }
  void release(std::size_t offset) { live_.erase(offset); }
  std::size_t peak() const { return peak_; }

 private:
  std::map<std::size_t, std::size_t> live_;  // begin -> end
  std::size_t peak_ = 0;
};

// The values a conv2d writes channels-last, the layout its GEMM produces: then no transpose follows it, and the
// ops reading it gather channels-contiguous pixels. A conv2d output qualifies when every op reading it, and,
// through relu, max pooling and add, every op reading theirs, is a conv2d, relu, max pooling, add, global
// average pooling or flatten from dim 1, and none is a graph output. Relu, max pooling and add write their
// input 0's layout (an add whose operands differ transposes the second as it reads it). Every other value
// keeps the graph's layout.
std::vector<bool> channels_last_values(const Model& model) {
  const auto& ops = model.ops();
  const std::size_t count = model.values().size();
  std::vector<std::vector<const Op*>> readers(count);
  for (const Op& op : ops)
    if (!op.folded)
      for (const std::size_t in : op.inputs) readers[in].push_back(&op);
  std::vector<bool> is_output(count, false);
  for (const std::size_t v : model.outputs()) is_output[v] = true;
  // takes[v]: v's readers qualify. Ops run in file order, so walking them backwards settles a reader's output
  // before its input (no recursion: a hostile file's chain of a million relus is only a long loop).
  std::vector<bool> takes(count, false);
  for (auto op = ops.rbegin(); op != ops.rend(); ++op) {
    if (op->folded) continue;
    bool ok = !is_output[op->output];
    for (const Op* r : readers[op->output])
      ok = ok && (r->kind == OpKind::conv2d || r->kind == OpKind::global_avg_pool || (r->kind == OpKind::flatten && r->start_dim == 1) ||
                  ((r->kind == OpKind::relu || r->kind == OpKind::max_pool || r->kind == OpKind::add) && takes[r->output]));
    takes[op->output] = ok;
  }
  std::vector<bool> last(count, false);
  for (const Op& op : ops) {
    if (op.folded) continue;
    if (op.kind == OpKind::conv2d) last[op.output] = takes[op.output];
    if (op.kind == OpKind::relu || op.kind == OpKind::max_pool || op.kind == OpKind::add) last[op.output] = last[op.inputs[0]];
  }
  return last;
}

}  // namespace

std::size_t Plan::elements(std::size_t value) const { return product(shapes[value]); }

Plan make_plan(const Model& model, std::size_t batch, std::size_t seq, PanelHeights mr, bool keep_values) {
  const auto& values = model.values();
  const auto& ops = model.ops();
  Plan plan;
  plan.batch = batch;
  plan.seq = seq;
  plan.shapes.assign(values.size(), {});
  plan.offsets.assign(values.size(), kNoBuffer);
  plan.scratch.assign(ops.size(), kNoBuffer);
  plan.scratch_bytes.assign(ops.size(), 0);
  plan.panels_from.resize(ops.size());
  for (std::size_t i = 0; i < ops.size(); ++i) plan.panels_from[i] = i;
  const std::string src = model.file().source();
  // FP32 values kept for reading after a run (keep_values) stay in the graph's layout; UINT8 feature maps
  // (model.cpp's UINT8 feature-map fold) are channels-last always, as only the ops between two convolutions read them.
  plan.channels_last = channels_last_values(model);
  for (std::size_t v = 0; v < values.size() && keep_values; ++v)
    if (values[v].type == ValueType::f32) plan.channels_last[v] = false;

  for (const auto& in : model.inputs()) {
    std::vector<std::size_t> shape;
    std::size_t unknown = 0;
    for (const std::int64_t d : in.shape) shape.push_back(d >= 0 ? static_cast<std::size_t>(d) : unknown++ == 0 ? batch : seq);
    plan.shapes[in.value] = shape;
  }

  // Shapes and scratch sizes, op by op.
  for (std::size_t i = 0; i < ops.size(); ++i) {
    const Op& op = ops[i];
    if (op.folded) continue;  // nothing reads a folded op's output, or its producer writes it
    const auto fail = [&](const std::string& what) { throw BadInput(src + ": op '" + op.name + "': " + what); };
    const auto& x = plan.shapes[op.inputs[0]];
    std::vector<std::size_t> y = x;
    std::size_t scratch = 0;
    switch (op.kind) {
      case OpKind::quantize:
      case OpKind::dequantize:
      case OpKind::gelu:
      case OpKind::relu:
      case OpKind::tanh:
      case OpKind::softmax:
        break;
      case OpKind::linear: {
        const LinearWeights& w = *op.weights;
        if (x.empty() || x.back() != w.k) fail("input " + shape_text(x) + " does not end in in_features " + std::to_string(w.k));
        y.back() = w.n;
        const std::size_t m = product(x) / w.k;
        if (w.format == format::WeightFormat::sparse_int8)
          scratch = kernels::panels_bytes(m, w.k, m == 1 && w.sparse.rows == 1 ? mr.sparse_one_token : mr.sparse);
        if (w.format == format::WeightFormat::dense_int8) scratch = kernels::panels_bytes(m, w.k, m == 1 ? mr.dense_one_token : mr.dense);
        break;
      }
      case OpKind::conv2d: {
        const LinearWeights& w = *op.weights;
        if (x.size() != 4 || x[1] != op.in_channels) fail("input " + shape_text(x) + " is not [B, " + std::to_string(op.in_channels) + ", H, W]");
        if (x[2] + 2 * op.pad < op.kernel || x[3] + 2 * op.pad < op.kernel) fail("input " + shape_text(x) + " is smaller than the kernel");
        const std::size_t oh = (x[2] + 2 * op.pad - op.kernel) / op.stride + 1, ow = (x[3] + 2 * op.pad - op.kernel) / op.stride + 1;
        y = {x[0], w.n, oh, ow};
        if (op.inputs.size() > 1 && plan.shapes[op.inputs[1]] != y)
          fail("residual " + shape_text(plan.shapes[op.inputs[1]]) + " differs from the output " + shape_text(y));
        // op_linear.cpp's conv2d: the GEMM's output when it is transposed to NCHW, then the FP32 columns or the
        // quantized padded images and the activation panels.
        const std::size_t pixels = x[0] * oh * ow;
        if (!plan.channels_last[op.output]) scratch += aligned(pixels * w.n * 4);
        if (w.format == format::WeightFormat::fp32) scratch += aligned(pixels * w.k * 4);
        else scratch += aligned(x[0] * x[1] * (x[2] + 2 * op.pad) * (x[3] + 2 * op.pad));
        if (w.format == format::WeightFormat::sparse_int8) scratch += kernels::panels_bytes(pixels, w.k, mr.sparse);
        if (w.format == format::WeightFormat::dense_int8) scratch += kernels::panels_bytes(pixels, w.k, mr.dense);
        break;
      }
      case OpKind::embedding:
        if (x.size() != 2) fail("ids " + shape_text(x) + " are not [B, L]");
        if (op.indices == EmbeddingIndices::positions && x[1] > op.rows)
          fail("sequence length " + std::to_string(x[1]) + " exceeds the " + std::to_string(op.rows) + " positions of the table");
        y = {x[0], x[1], op.width};
        break;
      case OpKind::layer_norm:
        if (x.empty() || x.back() != op.width) fail("input " + shape_text(x) + " does not end in " + std::to_string(op.width));
        if (op.inputs.size() == 2 && plan.shapes[op.inputs[1]] != x)  // a folded residual add
          fail("inputs " + shape_text(x) + " and " + shape_text(plan.shapes[op.inputs[1]]) + " differ");
        break;
      case OpKind::rms_norm:
        if (x.empty() || x.back() != op.width) fail("input " + shape_text(x) + " does not end in " + std::to_string(op.width));
        break;
      case OpKind::rotary:
        if (x.size() != 3 || x[2] != op.heads * op.head_size) fail("input " + shape_text(x) + " is not [B, L, heads * head_size]");
        break;
      case OpKind::causal_attention: {
        const std::vector<std::size_t> kv = {x.size() == 3 ? x[0] : 0, x.size() == 3 ? x[1] : 0, op.kv_heads * op.head_size};
        if (x.size() != 3 || x[2] != op.heads * op.head_size) fail("q " + shape_text(x) + " is not [B, L, heads * head_size]");
        if (plan.shapes[op.inputs[1]] != kv || plan.shapes[op.inputs[2]] != kv)
          fail("k and v are not [B, L, kv_heads * head_size] = " + shape_text(kv));
        break;
      }
      case OpKind::swiglu:
      case OpKind::add:
        if (plan.shapes[op.inputs[1]] != x) fail("inputs " + shape_text(x) + " and " + shape_text(plan.shapes[op.inputs[1]]) + " differ");
        break;
      case OpKind::attention: {
        if (x.size() != 3 || x[2] != op.heads * op.head_size) fail("q " + shape_text(x) + " is not [B, L, heads * head_size]");
        if (plan.shapes[op.inputs[1]] != x || plan.shapes[op.inputs[2]] != x) fail("q, k and v differ in shape");
        if (x[1] > kernels::kMaxAttentionSeq) fail("sequence length " + std::to_string(x[1]) + " exceeds " + std::to_string(kernels::kMaxAttentionSeq));
        if (op.inputs.size() > 3) {
          if (plan.shapes[op.inputs[3]] != std::vector<std::size_t>{x[0], x[1]}) fail("mask is not [B, L]");
          scratch = x[0] * x[1];
        }
        break;
      }
      case OpKind::max_pool:
        if (x.size() != 4 || x[2] + 2 * op.pad < op.kernel || x[3] + 2 * op.pad < op.kernel)
          fail("input " + shape_text(x) + " is not [B, C, H, W] of at least the padded window");
        y = {x[0], x[1], (x[2] + 2 * op.pad - op.kernel) / op.stride + 1, (x[3] + 2 * op.pad - op.kernel) / op.stride + 1};
        break;
      case OpKind::global_avg_pool:
        if (x.size() != 4 || x[2] * x[3] == 0) fail("input " + shape_text(x) + " is not [B, C, H, W]");
        y = {x[0], x[1], 1, 1};
        break;
      case OpKind::first_token:
        if (x.size() != 3) fail("input " + shape_text(x) + " is not [B, L, H]");
        y = {x[0], x[2]};
        break;
      case OpKind::flatten:
        if (op.start_dim >= x.size()) fail("start_dim " + std::to_string(op.start_dim) + " for input " + shape_text(x));
        y.assign(x.begin(), x.begin() + static_cast<std::ptrdiff_t>(op.start_dim));
        y.push_back(product(x, op.start_dim));
        break;
    }
    plan.shapes[op.output] = y;
    plan.scratch_bytes[i] = scratch;
  }

  // INT8 linears that would pack exactly the panels an earlier one packed read those instead.
  // A dense or 1x4-block layer over a single token runs a one-token kernel (op_linear.cpp), whose panels are
  // one row.
  const auto panel_height = [&](const Op& op) {
    const bool one_token = plan.elements(op.inputs[0]) == op.weights->k;
    if (op.weights->format != format::WeightFormat::sparse_int8) return one_token ? mr.dense_one_token : mr.dense;
    return one_token && op.weights->sparse.rows == 1 ? mr.sparse_one_token : mr.sparse;
  };
  const auto int8_linear = [](const Op& op) {
    return !op.folded && op.kind == OpKind::linear && op.weights->format != format::WeightFormat::fp32;
  };
  // An INT8 linear whose every reader is an INT8 linear that quantizes its output alike, at the same panel
  // height (BERT's FFN: up projection and GELU, then down projection), writes that output requantized straight
  // into their activation panels: the FP32 tensor and the readers' packing pass never happen.
  plan.output_panels.assign(ops.size(), std::nullopt);
  plan.input_panels.assign(ops.size(), false);
  std::vector<std::size_t> value_bytes(values.size(), 0);
  for (std::size_t v = 0; v < values.size(); ++v) value_bytes[v] = plan.elements(v) * type_size(values[v].type);
  const auto& graph_outputs = model.outputs();
  for (std::size_t i = 0; i < ops.size() && !keep_values; ++i) {
    const Op& op = ops[i];
    if (!int8_linear(op) || std::find(graph_outputs.begin(), graph_outputs.end(), op.output) != graph_outputs.end()) continue;
    std::vector<std::size_t> readers;
    bool alike = true;
    for (std::size_t j = i + 1; j < ops.size() && alike; ++j) {
      const Op& r = ops[j];
      if (r.folded || std::find(r.inputs.begin(), r.inputs.end(), op.output) == r.inputs.end()) continue;
      const Op& first = readers.empty() ? r : ops[readers.front()];
      alike = int8_linear(r) && r.inputs[0] == op.output && r.scale == first.scale && r.zero_point == first.zero_point &&
              panel_height(r) == panel_height(op);
      readers.push_back(j);
    }
    if (!alike || readers.empty()) continue;
    plan.output_panels[i] = quant::ActivationParams{ops[readers.front()].scale, ops[readers.front()].zero_point};
    const std::size_t m = plan.elements(op.output) / op.weights->n;
    value_bytes[op.output] = std::max(value_bytes[op.output], kernels::panels_bytes(m, op.weights->n, panel_height(op)));
    for (const std::size_t r : readers) {
      plan.input_panels[r] = true;
      plan.scratch_bytes[r] = 0;
    }
  }

  std::vector<std::size_t> last_panel_reader(ops.size());
  for (std::size_t i = 0; i < ops.size(); ++i) {
    last_panel_reader[i] = i;
    if (!int8_linear(ops[i]) || plan.input_panels[i]) continue;
    for (std::size_t j = 0; j < i; ++j) {
      const Op& a = ops[j];
      const Op& b = ops[i];
      if (!int8_linear(a) || plan.input_panels[j] || plan.panels_from[j] != j || a.inputs[0] != b.inputs[0] || a.scale != b.scale ||
          a.zero_point != b.zero_point || panel_height(a) != panel_height(b))
        continue;
      plan.panels_from[i] = j;
      last_panel_reader[j] = i;
      break;
    }
  }

  // Liveness: the last op reading each value; graph inputs and outputs live throughout.
  std::vector<std::size_t> last_use(values.size(), 0);
  for (std::size_t i = 0; i < ops.size(); ++i)
    if (!ops[i].folded)
      for (const std::size_t in : ops[i].inputs) last_use[in] = std::max(last_use[in], i);
  for (const std::size_t out : model.outputs()) last_use[out] = SIZE_MAX;
  if (keep_values) last_use.assign(values.size(), SIZE_MAX);
  for (const auto& in : model.inputs()) last_use[in.value] = SIZE_MAX;

  Arena arena;
  for (const auto& in : model.inputs()) plan.offsets[in.value] = arena.allocate(value_bytes[in.value]);
  for (std::size_t i = 0; i < ops.size(); ++i) {
    const Op& op = ops[i];
    if (op.folded) continue;
    plan.offsets[op.output] = arena.allocate(value_bytes[op.output]);
    const std::size_t packer = plan.panels_from[i];
    if (packer != i) {
      plan.scratch[i] = plan.scratch[packer];
      if (last_panel_reader[packer] == i) arena.release(plan.scratch[packer]);
    } else if (plan.scratch_bytes[i] != 0) {
      plan.scratch[i] = arena.allocate(plan.scratch_bytes[i]);
      if (last_panel_reader[i] == i) arena.release(plan.scratch[i]);
    }
    for (const std::size_t in : op.inputs)
      if (last_use[in] == i && plan.offsets[in] != kNoBuffer) arena.release(plan.offsets[in]);
  }
  plan.arena_bytes = arena.peak();
  return plan;
}

}  // namespace sparrow::engine
