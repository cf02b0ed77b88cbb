#include "export/interpret.h"

#include <cmath>
#include <limits>

#include "core/errors.h"
#include "models/weight_matrix.h"

namespace sparrow::exporter {

namespace {

std::vector<std::int64_t> ints(const nlohmann::json& v) { return v.get<std::vector<std::int64_t>>(); }

torch::Tensor attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, const torch::Tensor& mask,
                        std::int64_t heads, std::int64_t head_size) {
  const std::int64_t B = q.size(0), L = q.size(1);
  const auto split = [&](const torch::Tensor& x) { return x.view({B, L, heads, head_size}).transpose(1, 2); };
  auto scores = torch::matmul(split(q), split(k).transpose(-1, -2)) / std::sqrt(static_cast<double>(head_size));
  if (mask.defined())
    scores = scores + (1.0 - mask.to(torch::kFloat32).view({B, 1, 1, L})) * std::numeric_limits<float>::lowest();
  return torch::matmul(torch::softmax(scores, -1), split(v)).transpose(1, 2).reshape({B, L, heads * head_size});
}

// Causal attention of a whole sequence (positions 0 .. L-1), query head h reading key/value head
// h / (heads / kv_heads).
torch::Tensor causal_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, std::int64_t heads,
                               std::int64_t kv_heads, std::int64_t head_size) {
  const std::int64_t B = q.size(0), L = q.size(1);
  const auto split = [&](const torch::Tensor& x, std::int64_t n) {
    auto t = x.view({B, L, n, head_size}).transpose(1, 2);
    return n == heads ? t : t.repeat_interleave(heads / n, 1);
  };
  auto scores = torch::matmul(split(q, heads), split(k, kv_heads).transpose(-1, -2)) / std::sqrt(static_cast<double>(head_size));
  scores = scores.masked_fill(torch::ones({L, L}).triu(1).to(torch::kBool), -std::numeric_limits<float>::infinity());
  return torch::matmul(torch::softmax(scores, -1), split(v, kv_heads)).transpose(1, 2).reshape({B, L, heads * head_size});
}

// Rotary embeddings at positions 0 .. L-1 in the rotate-half convention.
torch::Tensor rotary(const torch::Tensor& x, std::int64_t heads, std::int64_t head_size, double theta) {
  const std::int64_t B = x.size(0), L = x.size(1), half = head_size / 2;
  const auto inv_freq = 1.0 / torch::pow(theta, torch::arange(0, head_size, 2, torch::kInt64).to(torch::kFloat32) / static_cast<double>(head_size));
  const auto freqs = torch::outer(torch::arange(L, torch::kInt64).to(torch::kFloat32), inv_freq);
  const auto angles = torch::cat({freqs, freqs}, -1).view({1, L, 1, head_size});
  const auto t = x.view({B, L, heads, head_size});
  const auto rotated = torch::cat({-t.slice(-1, half), t.slice(-1, 0, half)}, -1);
  return (t * angles.cos() + rotated * angles.sin()).reshape({B, L, heads * head_size});
}

torch::Tensor run_op(const LoweredOp& op, const std::vector<torch::Tensor>& in) {
  const auto& a = op.attrs;
  const auto w = [&](const char* role) { return op.weights.at(role); };
  if (op.op == "linear") return torch::linear(in[0], w("weight"), op.weights.count("bias") ? w("bias") : torch::Tensor());
  if (op.op == "conv2d") {
    const auto kernel = ints(a["kernel"]);
    const auto weight = models::weight_from_matrix(
        w("weight"), {a["out_channels"].get<std::int64_t>(), a["in_channels"].get<std::int64_t>(), kernel[0], kernel[1]});
    return torch::conv2d(in[0], weight, w("bias"), ints(a["stride"]), ints(a["padding"]));
  }
  if (op.op == "embedding") {
    const auto& table = w("table");
    const std::string indices = a["indices"];
    if (indices == "ids") return torch::embedding(table, in[0]);
    const std::int64_t B = in[0].size(0), L = in[0].size(1), H = table.size(1);
    if (indices == "positions") return table.slice(0, 0, L).unsqueeze(0).expand({B, L, H});
    return table[a["index"].get<std::int64_t>()].view({1, 1, H}).expand({B, L, H});
  }
  if (op.op == "layer_norm") return torch::layer_norm(in[0], {w("gamma").size(0)}, w("gamma"), w("beta"), a["eps"].get<double>());
  if (op.op == "rms_norm")
    return w("gamma") * (in[0] * torch::rsqrt(in[0].pow(2).mean(-1, /*keepdim=*/true) + a["eps"].get<double>()));
  if (op.op == "rotary") return rotary(in[0], a["heads"], a["head_size"], a["theta"].get<double>());
  if (op.op == "swiglu") return torch::silu(in[0]) * in[1];
  if (op.op == "causal_attention") return causal_attention(in[0], in[1], in[2], a["heads"], a["kv_heads"], a["head_size"]);
  if (op.op == "gelu") return torch::gelu(in[0]);
  if (op.op == "relu") return torch::relu(in[0]);
  if (op.op == "tanh") return torch::tanh(in[0]);
  if (op.op == "softmax") return torch::softmax(in[0], -1);
  if (op.op == "add") return in[0] + in[1];
  if (op.op == "attention")
    return attention(in[0], in[1], in[2], in.size() > 3 ? in[3] : torch::Tensor(), a["heads"], a["head_size"]);
  if (op.op == "pooling") {
    if (a["mode"] == "first_token") return in[0].select(1, 0);
    if (a["mode"] == "global_avg") return torch::adaptive_avg_pool2d(in[0], {1, 1});
    return torch::max_pool2d(in[0], ints(a["kernel"]), ints(a["stride"]), a.contains("padding") ? ints(a["padding"]) : std::vector<std::int64_t>{0, 0});
  }
  if (op.op == "flatten") return in[0].flatten(a["start_dim"].get<std::int64_t>());
  throw InternalError("export: the reference interpreter has no op '" + op.op + "'");
}

}  // namespace

std::map<std::string, torch::Tensor> interpret(const LoweredGraph& graph, const data::Batch& batch,
                                               const LayerObserver& observe) {
  torch::NoGradGuard no_grad;
  std::map<std::string, torch::Tensor> values;
  for (const auto& input : graph.inputs) {
    if (input.name == "attention_mask") {
      values[input.name] = batch.attention_mask.defined() ? batch.attention_mask : torch::ones_like(batch.inputs);
    } else {
      values[input.name] = batch.inputs;
    }
  }
  for (const auto& op : graph.ops) {
    std::vector<torch::Tensor> in;
    for (const auto& name : op.inputs) in.push_back(values.at(name));
    if (observe && op.is_layer()) observe(op, in[0]);
    values[op.output] = run_op(op, in);
  }
  return values;
}

}  // namespace sparrow::exporter
