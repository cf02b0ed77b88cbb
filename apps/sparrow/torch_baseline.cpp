#include "apps/sparrow/torch_baseline.h"

#include <dlfcn.h>
#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>
#include <vector>

#include "apps/sparrow/baseline/torch_baseline_abi.h"
#include "core/errors.h"

namespace sparrow::apps {

namespace {

namespace fs = std::filesystem;

constexpr const char* kPluginFile = "libsparrow_torch_baseline.so";
constexpr const char* kPluginVariable = "SPARROW_BASELINE_PLUGIN";

// The plug-in's functions, found once. The library is never closed: LibTorch does not support being unloaded.
struct Plugin {
  decltype(&sparrow_baseline_create) create = nullptr;
  decltype(&sparrow_baseline_run) run = nullptr;
  decltype(&sparrow_baseline_decode) decode = nullptr;
  decltype(&sparrow_baseline_destroy) destroy = nullptr;
  decltype(&sparrow_baseline_configuration) configuration = nullptr;
};

// The variable when set (then only it), else beside this executable and in ../lib next to it.
std::vector<fs::path> plugin_candidates() {
  if (const char* named = std::getenv(kPluginVariable); named != nullptr && *named != '\0') return {named};
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return {};
  return {exe.parent_path() / kPluginFile, (exe.parent_path() / ".." / "lib" / kPluginFile).lexically_normal()};
}

template <class F>
F symbol(void* library, const fs::path& file, const char* name) {
  void* found = dlsym(library, name);
  if (found == nullptr) throw BadInput(fmt::format("bench --compare: {} is not a Sparrow baseline plug-in: it has no {}", file.string(), name));
  return reinterpret_cast<F>(found);
}

Plugin open_plugin() {
  const std::vector<fs::path> candidates = plugin_candidates();
  std::vector<std::string> looked;
  for (const fs::path& file : candidates) {
    looked.push_back(file.string());
    if (!fs::exists(file)) continue;
    void* library = dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (library == nullptr)
      throw BadInput(fmt::format("bench --compare: cannot open the LibTorch baseline plug-in {}: {} (is LibTorch installed?)",
                                 file.string(), dlerror()));
    const int version = symbol<decltype(&sparrow_baseline_abi_version)>(library, file, "sparrow_baseline_abi_version")();
    if (version != SPARROW_BASELINE_ABI_VERSION)
      throw BadInput(fmt::format("bench --compare: {} speaks baseline interface version {}, this sparrow version {}; "
                                 "use the plug-in built with this sparrow",
                                 file.string(), version, SPARROW_BASELINE_ABI_VERSION));
    Plugin p;
    p.create = symbol<decltype(p.create)>(library, file, "sparrow_baseline_create");
    p.run = symbol<decltype(p.run)>(library, file, "sparrow_baseline_run");
    p.decode = symbol<decltype(p.decode)>(library, file, "sparrow_baseline_decode");
    p.destroy = symbol<decltype(p.destroy)>(library, file, "sparrow_baseline_destroy");
    p.configuration = symbol<decltype(p.configuration)>(library, file, "sparrow_baseline_configuration");
    return p;
  }
  throw BadInput(fmt::format(
      "bench --compare needs the LibTorch baseline plug-in {}, which is not in {}: build it (cmake --build --preset release "
      "--target sparrow_torch_baseline), install it into the lib folder beside sparrow's bin folder, or name it in {}",
      kPluginFile, fmt::join(looked, " nor in "), kPluginVariable));
}

const Plugin& plugin() {
  static const Plugin p = open_plugin();
  return p;
}

// The plug-in's result as the exception its code stands for.
void check(int code, const char* error) {
  if (code == 0) return;
  if (code == static_cast<int>(ErrorKind::BadInput)) throw BadInput(error);
  throw InternalError(error);
}

}  // namespace

TorchBaseline::TorchBaseline(const nlohmann::json& model_config, BaselinePrecision precision, std::size_t batch, std::size_t seq) {
  if (!model_config.is_object()) throw BadInput("bench --compare: the file has no sparrow.model_config metadata to rebuild the model from");
  const int abi_precision = precision == BaselinePrecision::fp32 ? SPARROW_BASELINE_FP32 : SPARROW_BASELINE_DYNAMIC_INT8;
  char error[1024] = "";
  check(plugin().create(model_config.dump().c_str(), abi_precision, batch, seq, &baseline_, error, sizeof error), error);
}

TorchBaseline::~TorchBaseline() {
  if (baseline_ != nullptr) plugin().destroy(baseline_);
}

void TorchBaseline::run(std::size_t threads) {
  char error[1024] = "";
  check(plugin().run(baseline_, threads, error, sizeof error), error);
}

void TorchBaseline::decode(std::size_t threads, std::size_t tokens) {
  char error[1024] = "";
  check(plugin().decode(baseline_, threads, tokens, error, sizeof error), error);
}

std::string TorchBaseline::configuration() const { return plugin().configuration(baseline_); }

}  // namespace sparrow::apps
