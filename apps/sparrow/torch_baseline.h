// The speed baseline of `sparrow bench --compare`: the same architecture, dense FP32, in LibTorch.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <memory>
#include <string>

namespace sparrow::apps {

// The zoo model `model_config` describes (metadata sparrow.model_config) with fresh dense FP32 weights, and
// random inputs of one shape (seq ignored for image models), built once; run() is one forward.
class TorchBaseline {
 public:
  TorchBaseline(const nlohmann::json& model_config, std::size_t batch, std::size_t seq);
  ~TorchBaseline();
  void run(std::size_t threads);
  // How LibTorch was set up, for the report.
  static std::string configuration();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace sparrow::apps
