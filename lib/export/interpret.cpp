#include "export/interpret.h"

#include <cmath>
#include <limits>

#include "core/errors.h"

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

torch::Tensor run_op(const LoweredOp& op, const std::vector<torch::Tensor>& in) {
  const auto& a = op.attrs;
  const auto w = [&](const char* role) { return op.weights.at(role); };
  if (op.op == "linear") return torch::linear(in[0], w("weight"), w("bias"));
  if (op.op == "conv2d") {
    const auto kernel = ints(a["kernel"]);
    const auto weight = w("weight").view({a["out_channels"].get<std::int64_t>(), a["in_channels"].get<std::int64_t>(), kernel[0], kernel[1]});
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
  if (op.op == "gelu") return torch::gelu(in[0]);
  if (op.op == "relu") return torch::relu(in[0]);
  if (op.op == "tanh") return torch::tanh(in[0]);
  if (op.op == "softmax") return torch::softmax(in[0], -1);
  if (op.op == "add") return in[0] + in[1];
  if (op.op == "attention")
    return attention(in[0], in[1], in[2], in.size() > 3 ? in[3] : torch::Tensor(), a["heads"], a["head_size"]);
  if (op.op == "pooling") {
    if (a["mode"] == "first_token") return in[0].select(1, 0);
    return torch::max_pool2d(in[0], ints(a["kernel"]), ints(a["stride"]));
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
