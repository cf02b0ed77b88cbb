#include "apps/sparrow/baseline/dynamic_int8_linear.h"

#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/core/stack.h>

namespace sparrow::baseline {

namespace {

// Ops are called through the dispatcher, boxed, as torch.ops.quantized.* are from Python: the same kernels and
// the same per-call overhead PyTorch's dynamic quantized Linear has.
c10::OperatorHandle find_op(const char* name) { return c10::Dispatcher::singleton().findSchemaOrThrow(name, ""); }

c10::IValue call(const c10::OperatorHandle& op, torch::jit::Stack stack) {
  op.callBoxed(&stack);
  return stack.front();
}

// linear_prepack packs for the process's current engine (the packed weights then run on theirs): the engine
// is set for the scope and restored after.
class EngineScope {
 public:
  explicit EngineScope(at::QEngine engine) : previous_(at::globalContext().qEngine()) { at::globalContext().setQEngine(engine); }
  ~EngineScope() { at::globalContext().setQEngine(previous_); }
  EngineScope(const EngineScope&) = delete;
  EngineScope& operator=(const EngineScope&) = delete;

 private:
  at::QEngine previous_;
};

// FBGEMM's AVX2 kernels multiply UINT8 by INT8 pairwise into saturating INT16 (vpmaddubsw), so PyTorch quantizes
// activations for it to 7 bits; oneDNN and QNNPACK take the full 8 (as Sparrow's engine does).
bool reduces_range(at::QEngine engine) { return engine == at::QEngine::FBGEMM || engine == at::QEngine::X86; }

c10::IValue prepack(const torch::nn::LinearImpl& layer, at::QEngine engine) {
  const torch::Tensor w = layer.weight.detach().to(torch::kFloat32).contiguous();
  torch::Tensor scales = std::get<0>(w.abs().max(1)).to(torch::kFloat64) / 127.0;
  scales = torch::where(scales > 0, scales, torch::ones_like(scales));  // an all-zero row
  const torch::Tensor q = at::quantize_per_channel(w, scales, torch::zeros({w.size(0)}, torch::kInt64), 0, at::kQInt8);
  const c10::optional<at::Tensor> bias =
      layer.bias.defined() ? c10::optional<at::Tensor>(layer.bias.detach().to(torch::kFloat32).contiguous()) : c10::nullopt;
  static const c10::OperatorHandle linear_prepack = find_op("quantized::linear_prepack");
  const EngineScope scope(engine);
  return call(linear_prepack, {q, bias});
}

}  // namespace

std::vector<at::QEngine> dynamic_int8_engines() {
  std::vector<at::QEngine> out;
  for (const at::QEngine e : at::globalContext().supportedQEngines())
    if (e == at::QEngine::FBGEMM || e == at::QEngine::X86 || e == at::QEngine::ONEDNN || e == at::QEngine::QNNPACK) out.push_back(e);
  return out;
}

std::string engine_name(at::QEngine engine) {
  switch (engine) {
    case at::QEngine::FBGEMM: return "FBGEMM";
    case at::QEngine::X86: return "x86";
    case at::QEngine::ONEDNN: return "oneDNN";
    case at::QEngine::QNNPACK: return "QNNPACK";
    default: return c10::toString(engine);
  }
}

DynamicInt8Linear::DynamicInt8Linear(at::QEngine engine) : engine_(engine) {}

torch::Tensor DynamicInt8Linear::linear(const torch::nn::LinearImpl& layer, const torch::Tensor& x) {
  auto packed = packed_.find(&layer);
  if (packed == packed_.end()) packed = packed_.emplace(&layer, prepack(layer, engine_)).first;
  static const c10::OperatorHandle linear_dynamic = find_op("quantized::linear_dynamic");
  return call(linear_dynamic, {x.contiguous(), packed->second, reduces_range(engine_)}).toTensor();
}

torch::Tensor DynamicInt8Linear::conv2d(const torch::nn::Conv2dImpl& layer, const torch::Tensor& x) {
  // LibTorch's Conv2d::forward is not const, though it changes nothing.
  return const_cast<torch::nn::Conv2dImpl&>(layer).forward(x);
}

}  // namespace sparrow::baseline
