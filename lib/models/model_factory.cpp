#include "models/model_factory.h"

#include "models/bert/bert.h"
#include "models/cnn.h"
#include "models/llama/llama.h"
#include "models/mlp.h"
#include "models/model_config.h"
#include "models/resnet.h"

namespace sparrow::models {

namespace {

std::shared_ptr<Classifier> construct(const CnnOptions& o) { return std::make_shared<Cnn>(o); }
std::shared_ptr<Classifier> construct(const ResNetOptions& o) { return std::make_shared<ResNet>(o); }
std::shared_ptr<Classifier> construct(const MlpOptions& o) { return std::make_shared<Mlp>(o); }
std::shared_ptr<Classifier> construct(const BertModelConfig& m) {
  auto model = std::make_shared<bert::BertForSequenceClassification>(m.config);
  if (!m.labels.empty()) model->labels = m.labels;
  return model;
}
std::shared_ptr<Classifier> construct(const llama::LlamaConfig& c) { return std::make_shared<llama::LlamaForCausalLM>(c); }

}  // namespace

std::shared_ptr<Classifier> build_model(const nlohmann::json& config, const std::string& context) {
  return std::visit([](const auto& checked) { return construct(checked); }, check_model_config(config, context));
}

}  // namespace sparrow::models
