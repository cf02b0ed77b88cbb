// The public engine (include/sparrow/engine.h) over engine::Classifier.
#include "sparrow/engine.h"

#include "engine/classifier.h"
#include "engine/engine.h"
#include "engine/kernels/linear.h"
#include "engine/model.h"

namespace sparrow {

struct Model::State {
  std::shared_ptr<const engine::Model> file;
  std::unique_ptr<engine::Classifier> classifier;

  void start(std::size_t threads) {
    engine::EngineOptions options;
    options.threads = threads;
    classifier = std::make_unique<engine::Classifier>(file, options);
  }
};

namespace {

std::vector<Prediction> public_predictions(const engine::Model& file, std::vector<engine::Prediction> found) {
  std::vector<Prediction> out;
  out.reserve(found.size());
  for (auto& f : found) {
    Prediction p;
    p.label_index = f.label;
    p.label = f.label < file.labels().size() ? file.labels()[f.label] : std::to_string(f.label);
    p.probabilities = std::move(f.probabilities);
    p.logits = std::move(f.logits);
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace

Model::Model(std::unique_ptr<State> state) : state_(std::move(state)) {}
Model::~Model() = default;
Model::Model(Model&&) noexcept = default;
Model& Model::operator=(Model&&) noexcept = default;

Model Model::load(const std::string& path) {
  // A library prints nothing of its own: the kernel choices the apps log are isa()'s to tell.
  kernels::set_kernel_log(nullptr);
  auto state = std::make_unique<State>();
  state->file = engine::Model::load(path);
  state->start(1);
  return Model(std::move(state));
}

void Model::set_threads(std::size_t threads) {
  if (threads == 0 || threads > engine::kMaxThreads)
    throw BadInput("sparrow::Model::set_threads: " + std::to_string(threads) + " threads; expected 1 to " +
                   std::to_string(engine::kMaxThreads));
  if (threads != this->threads()) state_->start(threads);
}

std::size_t Model::threads() const { return state_->classifier->engine().threads(); }
bool Model::is_text() const { return state_->file->is_text(); }
const std::vector<std::string>& Model::labels() const { return state_->file->labels(); }
std::size_t Model::max_seq_length() const { return state_->file->max_seq_length(); }
std::size_t Model::image_values() const { return state_->file->is_text() ? 0 : state_->file->item_elements(); }

std::vector<Prediction> Model::classify(const std::vector<std::string>& texts) {
  return public_predictions(*state_->file, state_->classifier->classify_texts(texts));
}

std::vector<Prediction> Model::classify_images(const std::vector<float>& images, std::size_t batch) {
  return public_predictions(*state_->file, state_->classifier->classify_images(images, batch));
}

std::string Model::isa() { return engine::Engine::isa(); }
std::string Model::version() { return SPARROW_VERSION; }

}  // namespace sparrow
