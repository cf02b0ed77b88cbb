// Sparrow's engine for C++ applications: load a .sparrow file, classify texts or images, choose the threads.
// Link Sparrow::engine (find_package(Sparrow)); it needs nothing else, LibTorch least of all.
//
//   sparrow::Model model = sparrow::Model::load("bert90.sparrow");
//   model.set_threads(2);
//   for (const sparrow::Prediction& p : model.classify({"Win a free cruise!"})) std::cout << p.label << "\n";
//
// The library prints nothing. Errors are thrown as the exceptions of <sparrow/errors.h>: sparrow::BadInput for a bad file or input
// (the message names the file and what was expected), sparrow::InternalError for a bug.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "sparrow/errors.h"

namespace sparrow {

// One item's result: the arg-max class, its name from the file, and every class's probability.
struct Prediction {
  std::size_t label_index = 0;
  std::string label;
  std::vector<float> probabilities;  // one per class, in the file's label order
  std::vector<float> logits;
};

class Model {
 public:
  // Reads and checks a .sparrow file (the file stays mapped: weights are read in place). 1 thread.
  static Model load(const std::string& path);

  // The engine's threads, the calling thread included: 1 to 256.
  void set_threads(std::size_t threads);
  std::size_t threads() const;

  bool is_text() const;
  // The class names, in the order of Prediction::probabilities.
  const std::vector<std::string>& labels() const;
  // Text models: the longest input in tokens ([CLS] and [SEP] included); longer texts are truncated.
  std::size_t max_seq_length() const;
  // Image models: the values of one image, in the order the model was trained on (channels, rows, columns).
  std::size_t image_values() const;

  // Text models: each text tokenized with the tokenizer stored in the file.
  std::vector<Prediction> classify(const std::vector<std::string>& texts);
  // Image models: `batch` images of image_values() values each, back to back.
  std::vector<Prediction> classify_images(const std::vector<float>& images, std::size_t batch);

  // The instruction set the kernels run on (e.g. "avx512vnni"), after any SPARROW_MAX_ISA cap.
  static std::string isa();
  // Sparrow's version, e.g. "0.1.0".
  static std::string version();

  ~Model();
  Model(Model&&) noexcept;
  Model& operator=(Model&&) noexcept;

 private:
  struct State;
  explicit Model(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace sparrow
