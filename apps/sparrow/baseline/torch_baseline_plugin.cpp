// The LibTorch baseline plug-in behind torch_baseline_abi.h. LibTorch is set up as fast as it honestly gets
// on a CPU: inference mode (no autograd records), eval mode, intra-op threads as asked per run (bench --compare
// times 1 and the engine's threads), one inter-op thread (the graph is a chain), and whatever BLAS LibTorch was
// built against (Debian's: OpenBLAS, OpenMP variant). Dynamic INT8 runs on the faster of LibTorch's quantized
// engines for this model on this machine, timed when the baseline is built.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <string>

#include "apps/sparrow/baseline/dynamic_int8_linear.h"
#include "apps/sparrow/baseline/torch_baseline_abi.h"
#include "core/errors.h"
#include "data/batch.h"
#include "models/classifier.h"
#include "models/llama/llama.h"
#include "models/model_factory.h"

struct sparrow_baseline {
  std::shared_ptr<sparrow::models::Classifier> model;
  sparrow::data::Batch batch;
  std::string configuration;
  // Causal LMs: the model as itself, and the KV cache after the prompt (the prompt state each decode starts from;
  // a decoding step concatenates into new tensors, so this one is never changed by it).
  std::shared_ptr<sparrow::models::llama::LlamaForCausalLM> lm;
  sparrow::models::llama::KvCache prompt_cache;
  torch::Tensor first_token;  // [1, 1]: the prompt's greedy next token
  // Dynamic INT8: the fastest quantized engine for a whole forward (or a prefill) and, for causal LMs, for a
  // one-token decoding step, which can differ by several times (per-call overhead against packed throughput).
  std::shared_ptr<sparrow::baseline::DynamicInt8Linear> forward_hook, decode_hook;
};

namespace {

using namespace sparrow;

// Timed forwards per engine when choosing one (after one untimed, which packs the weights): their median decides.
constexpr int kEngineTrials = 3;

int fail(int code, const std::string& message, char* error, std::size_t error_size) {
  if (error_size > 0) {
    const std::size_t n = std::min(message.size(), error_size - 1);
    std::memcpy(error, message.data(), n);
    error[n] = '\0';
  }
  return code;
}

// Runs `body`, turning what it throws into the exit code the binary rethrows.
template <class F>
int guarded(F&& body, char* error, std::size_t error_size) {
  try {
    body();
    return 0;
  } catch (const BadInput& e) {
    return fail(2, e.what(), error, error_size);
  } catch (const nlohmann::json::exception& e) {
    return fail(2, std::string("sparrow.model_config: ") + e.what(), error, error_size);
  } catch (const std::exception& e) {
    return fail(3, e.what(), error, error_size);
  }
}

// The greedy next token after logits [B, T, vocab]: [B, 1].
torch::Tensor greedy_token(const torch::Tensor& logits) { return logits.select(1, logits.size(1) - 1).argmax(-1, true); }

void forward(sparrow_baseline& b) {
  torch::InferenceMode inference;
  if (b.forward_hook) b.model->set_linear_hook(b.forward_hook);
  if (b.lm) {
    b.prompt_cache = {};
    b.first_token = greedy_token(b.lm->decode(b.batch.inputs, b.prompt_cache));
    return;
  }
  const auto logits = b.model->logits(b.batch);
  (void)logits.data_ptr<float>();
}

void decode(sparrow_baseline& b, std::size_t tokens) {
  if (!b.lm) throw BadInput("bench --compare: decoding is for causal LMs");
  torch::InferenceMode inference;
  if (!b.first_token.defined()) forward(b);
  if (b.decode_hook) b.model->set_linear_hook(b.decode_hook);
  models::llama::KvCache cache = b.prompt_cache;
  torch::Tensor token = b.first_token;
  for (std::size_t t = 0; t < tokens; ++t) token = greedy_token(b.lm->decode(token, cache));
  (void)token.data_ptr<std::int64_t>();
}

std::string common_setup() {
  return fmt::format("inference mode, 1 inter-op thread, BLAS: {}", at::hasMKL() ? "MKL" : "the system's (OpenBLAS)");
}

// Median wall seconds of `part` at 1 thread, after one untimed.
template <class Part>
double time_part(Part&& part) {
  torch::set_num_threads(1);
  part();
  std::vector<double> seconds;
  for (int i = 0; i < kEngineTrials; ++i) {
    const auto start = std::chrono::steady_clock::now();
    part();
    seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(seconds.begin(), seconds.end());
  return seconds[seconds.size() / 2];
}

// Which quantized engine is fastest depends on the CPU and the shapes, so each one this LibTorch has is timed
// on the model's own forward (for a causal LM also on decoding steps, chosen apart) and the fastest kept.
void use_fastest_int8_engine(sparrow_baseline& b) {
  const std::vector<at::QEngine> engines = baseline::dynamic_int8_engines();
  if (engines.empty())
    throw BadInput("bench --compare: this LibTorch has no quantized engine for dynamic INT8 (supportedQEngines() lists none); "
                   "use --fp32-baseline-only");
  struct Choice {
    std::shared_ptr<baseline::DynamicInt8Linear> hook;
    double seconds = 0;
    std::vector<std::string> timed;
    void offer(const std::shared_ptr<baseline::DynamicInt8Linear>& h, double s, double scale, const char* unit) {
      timed.push_back(fmt::format("{} {:.3g} {}", baseline::engine_name(h->engine()), s * scale, unit));
      if (hook && s >= seconds) return;
      hook = h;
      seconds = s;
    }
  } forward_choice, decode_choice;
  constexpr std::size_t kDecodeTokens = 8;
  for (const at::QEngine engine : engines) {
    auto hook = std::make_shared<baseline::DynamicInt8Linear>(engine);
    b.forward_hook = b.decode_hook = hook;
    forward_choice.offer(hook, time_part([&] { forward(b); }), 1e3, "ms per forward");
    if (b.lm) decode_choice.offer(hook, time_part([&] { decode(b, kDecodeTokens); }) / kDecodeTokens, 1e3, "ms per token");
  }
  b.forward_hook = forward_choice.hook;
  b.decode_hook = b.lm ? decode_choice.hook : nullptr;
  b.first_token = torch::Tensor();  // the prompt state is taken again with the forward engine
  std::string engine = baseline::engine_name(b.forward_hook->engine());
  std::string timed = fmt::format("{}", fmt::join(forward_choice.timed, ", "));
  if (b.lm) {
    engine = fmt::format("{} (prefill), {} (decode)", engine, baseline::engine_name(b.decode_hook->engine()));
    timed += fmt::format("; {}", fmt::join(decode_choice.timed, ", "));
  }
  b.configuration = fmt::format(
      "LibTorch {} dynamic INT8 on {} (quantized::linear_dynamic: weights INT8 per output channel, inputs quantized per call; "
      "other layers FP32), {}; engine the fastest at 1 thread of {}",
      TORCH_VERSION, engine, common_setup(), timed);
}

// Convolutions may run faster on channels-last tensors (oneDNN's layout) than on NCHW, or slower (without
// oneDNN): both are timed on the model's own forward and the faster kept. Returns how it runs, for the report.
std::string use_fastest_image_layout(sparrow_baseline& b) {
  const double nchw = time_part([&] { forward(b); });
  const auto set_layout = [&](torch::MemoryFormat format) {
    torch::NoGradGuard no_grad;
    for (auto& p : b.model->parameters())
      if (p.dim() == 4) p.set_data(p.data().contiguous(format));
    b.batch.inputs = b.batch.inputs.contiguous(format);
  };
  set_layout(torch::MemoryFormat::ChannelsLast);
  const double channels_last = time_part([&] { forward(b); });
  if (channels_last >= nchw) set_layout(torch::MemoryFormat::Contiguous);
  return fmt::format("{} tensors (forward at 1 thread: NCHW {:.3g} ms, channels-last {:.3g} ms)",
                     channels_last < nchw ? "channels-last" : "NCHW", nchw * 1e3, channels_last * 1e3);
}

void build(sparrow_baseline& b, const nlohmann::json& model_config, int precision, std::size_t batch, std::size_t seq) {
  if (precision != SPARROW_BASELINE_FP32 && precision != SPARROW_BASELINE_DYNAMIC_INT8)
    throw BadInput(fmt::format("bench --compare: unknown baseline precision {}", precision));
  static const bool interop = [] {
    torch::set_num_interop_threads(1);
    return true;
  }();
  (void)interop;
  torch::manual_seed(0);
  b.model = models::build_model(model_config, "sparrow.model_config");
  b.model->eval();
  const auto B = static_cast<std::int64_t>(batch);
  std::string layout;
  b.lm = std::dynamic_pointer_cast<models::llama::LlamaForCausalLM>(b.model);
  if (b.lm) {
    b.batch.inputs = torch::randint(0, b.lm->llama_config().vocab_size, {B, static_cast<std::int64_t>(seq)}, torch::kInt64);
  } else if (model_config.value("name", "") == "bert") {
    const std::int64_t vocab = model_config.at("vocab_size").get<std::int64_t>();
    b.batch.inputs = torch::randint(5, vocab, {B, static_cast<std::int64_t>(seq)}, torch::kInt64);
    b.batch.attention_mask = torch::ones({B, static_cast<std::int64_t>(seq)}, torch::kInt64);
  } else if (model_config.value("name", "") == "mlp") {
    b.batch.inputs = torch::randn({B, model_config.at("in_features").get<std::int64_t>()});
  } else {
    const std::int64_t c = model_config.at("in_channels"), s = model_config.at("image_size");
    b.batch.inputs = torch::randn({B, c, s, s});
    layout = use_fastest_image_layout(b);
  }
  if (precision == SPARROW_BASELINE_DYNAMIC_INT8) use_fastest_int8_engine(b);
  else b.configuration = fmt::format("LibTorch {} dense FP32, {}", TORCH_VERSION, common_setup());
  if (!layout.empty()) b.configuration += ", " + layout;
}

}  // namespace

extern "C" {

int sparrow_baseline_abi_version() { return SPARROW_BASELINE_ABI_VERSION; }

int sparrow_baseline_create(const char* model_config, int precision, std::size_t batch, std::size_t seq, sparrow_baseline** out,
                            char* error, std::size_t error_size) {
  return guarded(
      [&] {
        auto b = std::make_unique<sparrow_baseline>();
        build(*b, nlohmann::json::parse(model_config), precision, batch, seq);
        *out = b.release();
      },
      error, error_size);
}

int sparrow_baseline_run(sparrow_baseline* baseline, std::size_t threads, char* error, std::size_t error_size) {
  return guarded(
      [&] {
        torch::set_num_threads(static_cast<int>(threads));
        forward(*baseline);
      },
      error, error_size);
}

int sparrow_baseline_decode(sparrow_baseline* baseline, std::size_t threads, std::size_t tokens, char* error, std::size_t error_size) {
  return guarded(
      [&] {
        torch::set_num_threads(static_cast<int>(threads));
        decode(*baseline, tokens);
      },
      error, error_size);
}

void sparrow_baseline_destroy(sparrow_baseline* baseline) { delete baseline; }

const char* sparrow_baseline_configuration(const sparrow_baseline* baseline) { return baseline->configuration.c_str(); }

}  // extern "C"
