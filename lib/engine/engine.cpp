#include "engine/engine.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "core/errors.h"
#include "engine/kernels/linear.h"
#include "engine/ops/ops.h"

namespace sparrow::engine {

namespace {

using OpFn = void (*)(const ops::OpArgs&);

OpFn op_function(OpKind kind) {
  switch (kind) {
    case OpKind::quantize: return ops::quantize;
    case OpKind::dequantize: return ops::dequantize;
    case OpKind::linear: return ops::linear;
    case OpKind::conv2d: return ops::conv2d;
    case OpKind::embedding: return ops::embedding;
    case OpKind::layer_norm: return ops::layer_norm;
    case OpKind::gelu: return ops::gelu;
    case OpKind::relu: return ops::relu;
    case OpKind::tanh: return ops::tanh;
    case OpKind::softmax: return ops::softmax;
    case OpKind::add: return ops::add;
    case OpKind::attention: return ops::attention;
    case OpKind::max_pool: return ops::max_pool;
    case OpKind::global_avg_pool: return ops::global_avg_pool;
    case OpKind::first_token: return ops::first_token;
    case OpKind::flatten: return ops::flatten;
    case OpKind::rms_norm: return ops::rms_norm;
    case OpKind::rotary: return ops::rotary;
    case OpKind::swiglu: return ops::swiglu;
    case OpKind::causal_attention: return ops::causal_attention;
  }
  throw InternalError("engine: no function for an op kind");
}

std::size_t type_size(ValueType t) { return t == ValueType::f32 ? 4 : t == ValueType::i64 ? 8 : 1; }

std::size_t checked_threads(std::size_t threads) {
  if (threads < 1 || threads > kMaxThreads)
    throw BadInput(fmt::format("engine: {} threads; expected 1 to {}", threads, kMaxThreads));
  return threads;
}

}  // namespace

std::size_t parse_thread_count(std::string_view text, std::string_view source) {
  std::size_t threads = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), threads);
  if (error == std::errc() && end == text.data() + text.size() && threads >= 1 && threads <= kMaxThreads) return threads;
  // "--threads -1" for a flag, "SPARROW_THREADS=0" for an environment variable, as the user wrote them; a
  // long value is cut, since the message only needs to show which one it was.
  const std::string shown = text.size() > 40 ? std::string(text.substr(0, 40)) + "..." : std::string(text);
  throw BadInput(fmt::format("{}{}{}: expected a whole number of threads from 1 to {}", source,
                             source.rfind('-', 0) == 0 ? " " : "=", shown, kMaxThreads));
}

std::size_t default_thread_count() {
  return std::clamp<std::size_t>(std::thread::hardware_concurrency(), 1, kMaxThreads);
}

void Engine::Aligned::operator()(std::uint8_t* p) const { std::free(p); }

Engine::Engine(std::shared_ptr<const Model> model, EngineOptions options)
    : model_(std::move(model)), options_(options), pool_(checked_threads(options.threads)) {
  reset_profile();
}

std::string Engine::isa() { return kernels::isa_name(kernels::max_isa()); }

std::string Engine::kernel_names() {
  std::string names;
  // Panel kernels, then those one token (a decoding step) runs where they differ.
  for (const char* name : {kernels::spmm_b4_kernel().name, kernels::qgemm_kernel().name, kernels::f32_gemm_kernel().name,
                           kernels::sparse_kernel(1, 1).name, kernels::dense_kernel(1).name, kernels::f32_kernel(1).name})
    if (names.find(name) == std::string::npos) names += (names.empty() ? "" : ", ") + std::string(name);
  return names;
}

void Engine::reset_profile() {
  profile_.clear();
  for (const Op& op : model_->ops()) profile_.push_back({op.name, op.kind, 0.0, 0});
}

const Plan& Engine::plan(std::size_t batch, std::size_t seq) {
  if (batch == 0) throw BadInput("engine: a batch needs at least one item");
  if (!model_->is_text()) seq = 0;
  else if (seq == 0) throw BadInput("engine: a text batch needs a sequence length of at least 1");
  const auto key = std::make_pair(batch, seq);
  auto it = plans_.find(key);
  if (it == plans_.end()) {
    PanelHeights mr{kernels::spmm_b4_kernel().mr, kernels::qgemm_kernel().mr, kernels::sparse_kernel(1, 1).mr,
                    kernels::dense_kernel(1).mr};
    it = plans_.emplace(key, make_plan(*model_, batch, seq, mr, options_.keep_values)).first;
  }
  if (it->second.arena_bytes > arena_bytes_) {
    arena_.reset(static_cast<std::uint8_t*>(std::aligned_alloc(64, (it->second.arena_bytes + 63) / 64 * 64)));
    if (!arena_) throw InternalError("engine: cannot allocate " + std::to_string(it->second.arena_bytes) + " bytes");
    arena_bytes_ = it->second.arena_bytes;
  }
  return it->second;
}

const float* Engine::value(const std::string& name) const {
  const auto v = model_->find_value(name);
  if (!v || last_plan_ == nullptr || last_plan_->offsets[*v] == kNoBuffer || model_->values()[*v].type != ValueType::f32) return nullptr;
  return reinterpret_cast<const float*>(arena_.get() + last_plan_->offsets[*v]);
}

std::size_t Engine::chunk_items(std::size_t batch, std::size_t seq) {
  const auto& ops = model_->ops();
  const bool convolutional = std::any_of(ops.begin(), ops.end(), [](const Op& op) { return op.kind == OpKind::conv2d; });
  if (!convolutional || options_.keep_values || batch == 1) return batch;
  const std::size_t per_item = plan(1, seq).arena_bytes;
  return std::clamp<std::size_t>(options_.chunk_arena_bytes / std::max<std::size_t>(per_item, 1), 1, batch);
}

std::vector<OutputView> Engine::run(std::size_t batch, std::size_t seq, const std::vector<const void*>& inputs, KvCache* cache) {
  const std::size_t chunk = cache == nullptr ? chunk_items(batch, seq) : batch;
  if (chunk >= batch) return run_planned(batch, seq, inputs, cache);
  const auto& values = model_->values();
  // Bytes of one item of each graph input: its elements past the batch dimension.
  std::vector<std::size_t> input_item_bytes;
  for (const auto& in : model_->inputs()) input_item_bytes.push_back(plan(1, seq).elements(in.value) * type_size(values[in.value].type));
  std::vector<OutputView> all;
  for (std::size_t begin = 0; begin < batch; begin += chunk) {
    const std::size_t n = std::min(chunk, batch - begin);
    std::vector<const void*> part;
    for (std::size_t i = 0; i < inputs.size() && i < input_item_bytes.size(); ++i)
      part.push_back(static_cast<const std::uint8_t*>(inputs[i]) + begin * input_item_bytes[i]);
    if (inputs.size() != input_item_bytes.size()) part = inputs;  // run_planned refuses the count
    const auto views = run_planned(n, seq, part, cache);
    if (all.empty()) {
      chunked_outputs_.resize(views.size());
      for (std::size_t o = 0; o < views.size(); ++o) {
        if (views[o].shape.empty() || views[o].shape[0] != n)
          throw InternalError("engine: output '" + views[o].name + "' of a chunked batch is not [items, ...]");
        all.push_back(views[o]);
        all[o].shape[0] = batch;
        chunked_outputs_[o].resize(batch * (plan(n, seq).elements(model_->outputs()[o]) / n));
        all[o].data = chunked_outputs_[o].data();
      }
    }
    for (std::size_t o = 0; o < views.size(); ++o) {
      const std::size_t item = chunked_outputs_[o].size() / batch;
      std::copy_n(views[o].data, n * item, chunked_outputs_[o].data() + begin * item);
    }
  }
  return all;
}

std::vector<OutputView> Engine::run_planned(std::size_t batch, std::size_t seq, const std::vector<const void*>& inputs,
                                            KvCache* cache) {
  const Plan& p = plan(batch, seq);
  last_plan_ = &p;
  const auto& values = model_->values();
  if (inputs.size() != model_->inputs().size())
    throw BadInput("engine: the model takes " + std::to_string(model_->inputs().size()) + " inputs, got " + std::to_string(inputs.size()));
  std::uint8_t* base = arena_.get();
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const std::size_t v = model_->inputs()[i].value;
    std::memcpy(base + p.offsets[v], inputs[i], p.elements(v) * type_size(values[v].type));
  }
  const auto& ops = model_->ops();
  for (std::size_t i = 0; i < ops.size(); ++i) {
    const Op& op = ops[i];
    if (op.folded) continue;
    ops::OpArgs args{op, {}, {}, base + p.offsets[op.output], &p.shapes[op.output],
                     p.elements(op.output) * type_size(values[op.output].type),
                     p.scratch[i] == kNoBuffer ? nullptr : base + p.scratch[i], &pool_};
    args.cache = cache;
    args.in_channels_last = p.channels_last[op.inputs[0]];
    args.in1_channels_last = op.inputs.size() > 1 && p.channels_last[op.inputs[1]];
    args.out_channels_last = p.channels_last[op.output];
    if (p.input_panels[i]) args.input_panels = base + p.offsets[op.inputs[0]];
    if (p.panels_from[i] != i) args.input_panels = base + p.scratch[p.panels_from[i]];
    if (p.output_panels[i]) args.output_panels = &*p.output_panels[i];
    for (const std::size_t in : op.inputs) {
      args.in.push_back(base + p.offsets[in]);
      args.in_shape.push_back(&p.shapes[in]);
    }
    if (!options_.profile) {
      op_function(op.kind)(args);
      continue;
    }
    const auto start = std::chrono::steady_clock::now();
    op_function(op.kind)(args);
    profile_[i].seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    ++profile_[i].calls;
  }
  std::vector<OutputView> out;
  for (const std::size_t v : model_->outputs()) {
    if (values[v].type != ValueType::f32) throw BadInput("engine: graph output '" + values[v].name + "' is not f32");
    out.push_back({values[v].name, p.shapes[v], reinterpret_cast<const float*>(base + p.offsets[v])});
  }
  return out;
}

}  // namespace sparrow::engine
