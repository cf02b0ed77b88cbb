#include "parity_fixtures.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

#include "engine/kernels/isa.h"
#include "format/reader.h"

namespace sparrow::engine_test {

Comparison compare_logits(const std::vector<engine::Prediction>& engine, const torch::Tensor& reference) {
  Comparison c;
  const auto ref = reference.contiguous().to(torch::kFloat32);
  const auto a = ref.accessor<float, 2>();
  c.items = engine.size();
  for (std::size_t i = 0; i < engine.size(); ++i) {
    const auto row = static_cast<std::int64_t>(i);
    std::int64_t best = 0;
    for (std::int64_t j = 0; j < ref.size(1); ++j) {
      if (a[row][j] > a[row][best]) best = j;
      const float r = a[row][j];
      c.max_diff = std::max(c.max_diff, std::abs(engine[i].logits[static_cast<std::size_t>(j)] - r) / std::max(1.0f, std::abs(r)));
    }
    c.agree += engine[i].label == static_cast<std::size_t>(best);
  }
  return c;
}

data::Batch image_batch(std::int64_t n) { return {torch::randn({n, 1, 12, 12}), {}, torch::zeros({n}, torch::kInt64)}; }

Comparison engine_vs_model(engine::Classifier& classifier, models::Classifier& model, const data::Batch& batch) {
  torch::Tensor reference;
  {
    torch::NoGradGuard g;
    reference = model.logits(batch);
  }
  return compare_logits(run_engine(classifier, batch), reference);
}

void check_parity(const Comparison& c, float tolerance) {
  INFO("ISA " << kernels::isa_name(kernels::max_isa()) << ": " << c.agree << " of " << c.items << " agree, max diff " << c.max_diff);
  CHECK(c.max_diff <= tolerance);
  CHECK(c.agree == c.items);
}

std::shared_ptr<const engine::Model> load_bytes(const std::string& bytes) {
  return engine::Model::from_file(format::File::parse(bytes, "<exported model>"));
}

std::vector<engine::Prediction> run_engine(engine::Classifier& classifier, const data::Batch& batch) {
  if (!classifier.model().is_text()) {
    const auto x = batch.inputs.contiguous().to(torch::kFloat32);
    return classifier.classify_images(std::vector<float>(x.data_ptr<float>(), x.data_ptr<float>() + x.numel()),
                                      static_cast<std::size_t>(x.size(0)));
  }
  const auto mask = batch.attention_mask.defined() ? batch.attention_mask : torch::ones_like(batch.inputs);
  const std::int64_t longest = std::max<std::int64_t>(1, mask.sum(1).max().item<std::int64_t>());
  const auto ids = batch.inputs.slice(1, 0, longest).contiguous();
  const auto m = mask.slice(1, 0, longest).contiguous();
  engine::TokenBatch t;
  t.batch = static_cast<std::size_t>(ids.size(0));
  t.seq = static_cast<std::size_t>(longest);
  t.ids.assign(ids.data_ptr<std::int64_t>(), ids.data_ptr<std::int64_t>() + ids.numel());
  t.mask.assign(m.data_ptr<std::int64_t>(), m.data_ptr<std::int64_t>() + m.numel());
  return classifier.classify_tokens(t);
}

void attach_quantization(models::Classifier& model, const exporter::ExportOptions& options) {
  nlohmann::json j = nlohmann::json::object();
  std::vector<std::string> layers;
  for (const auto& [layer, q] : options.activations) {
    j[layer] = {{"lo", q.lo}, {"hi", q.hi}, {"scale", q.scale}, {"zero_point", q.zero_point}};
    layers.push_back(layer);
  }
  auto hook = std::make_shared<compress::QatHook>(model, layers);
  hook->load_json(j, "export options");
  model.set_linear_hook(hook);
}

void check_identical_logits(engine::Classifier& a, engine::Classifier& b, const data::Batch& batch) {
  const auto x = run_engine(a, batch), y = run_engine(b, batch);
  REQUIRE(x.size() == static_cast<std::size_t>(batch.inputs.size(0)));
  REQUIRE(y.size() == x.size());
  for (std::size_t i = 0; i < x.size(); ++i) CHECK(x[i].logits == y[i].logits);
}

}  // namespace sparrow::engine_test
