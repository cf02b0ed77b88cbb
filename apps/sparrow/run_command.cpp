// `sparrow run FILE --input IN.jsonl [--output OUT.jsonl] [--batch N] [--threads T]`: one prediction per
// input line. Text models read {"text": "..."}, image models {"image": [values]} (the model's input values,
// C*H*W of them). Every line is checked before anything runs: a bad one is BadInput naming the file and
// line (exit 2). Output lines: {"line", "label", "label_index", "probabilities": {label: p}}; written
// atomically to --output, else to stdout.
#include <fmt/format.h>

#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

#include "apps/sparrow/command.h"
#include "core/errors.h"
#include "core/files.h"
#include "engine/classifier.h"

namespace sparrow::apps {

namespace {

struct RunFlags {
  std::string file;
  std::string input;
  std::string output;
  std::size_t batch = 8;
  std::size_t threads = 0;
};

// One input item: its line number and its text or image values.
struct Item {
  std::size_t line = 0;
  std::string text;
  std::vector<float> image;
};

std::vector<Item> read_items(const RunFlags& flags, const engine::Model& model) {
  std::ifstream in(flags.input, std::ios::binary);
  if (!in) throw BadInput(flags.input + ": cannot open the input file");
  std::vector<Item> items;
  std::string text;
  for (std::size_t line = 1; std::getline(in, text); ++line) {
    if (text.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = flags.input + ":" + std::to_string(line);
    const nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object()) throw BadInput(where + ": not a JSON object");
    Item item;
    item.line = line;
    if (model.is_text()) {
      if (!j.contains("text") || !j["text"].is_string()) throw BadInput(where + ": expected a string field \"text\"");
      item.text = j["text"].get<std::string>();
    } else {
      if (!j.contains("image") || !j["image"].is_array()) throw BadInput(where + ": expected an array field \"image\"");
      const auto& values = j["image"];
      if (values.size() != model.item_elements())
        throw BadInput(where + ": \"image\" has " + std::to_string(values.size()) + " values, the model takes " +
                       std::to_string(model.item_elements()));
      for (const auto& v : values) {
        if (!v.is_number() || !std::isfinite(v.get<double>())) throw BadInput(where + ": \"image\" holds a value that is not a finite number");
        item.image.push_back(v.get<float>());
      }
    }
    items.push_back(std::move(item));
  }
  return items;
}

int run(const RunFlags& flags) {
  const auto model = engine::Model::load(flags.file);
  const std::vector<Item> items = read_items(flags, *model);
  engine::EngineOptions options;
  options.threads = flags.threads > 0 ? flags.threads : std::max(1u, std::thread::hardware_concurrency());
  engine::Classifier classifier(model, options);
  const auto& labels = model->labels();
  std::string out;
  for (std::size_t begin = 0; begin < items.size(); begin += flags.batch) {
    const std::size_t end = std::min(items.size(), begin + flags.batch);
    std::vector<engine::Prediction> predictions;
    if (model->is_text()) {
      std::vector<std::string> texts;
      for (std::size_t i = begin; i < end; ++i) texts.push_back(items[i].text);
      predictions = classifier.classify_texts(texts);
    } else {
      std::vector<float> images;
      for (std::size_t i = begin; i < end; ++i) images.insert(images.end(), items[i].image.begin(), items[i].image.end());
      predictions = classifier.classify_images(images, end - begin);
    }
    for (std::size_t i = begin; i < end; ++i) {
      const engine::Prediction& p = predictions[i - begin];
      const auto name = [&](std::size_t c) { return c < labels.size() ? labels[c] : std::to_string(c); };
      nlohmann::json probs = nlohmann::json::object();
      for (std::size_t c = 0; c < p.probabilities.size(); ++c) probs[name(c)] = p.probabilities[c];
      out += nlohmann::json{{"line", items[i].line}, {"label", name(p.label)}, {"label_index", p.label}, {"probabilities", probs}}.dump() + "\n";
    }
  }
  if (flags.output.empty()) {
    std::cout << out << std::flush;
  } else {
    write_file_atomic(flags.output, out);
  }
  return 0;
}

}  // namespace

Action register_run(CLI::App& sub, const CommonFlags&) {
  auto flags = std::make_shared<RunFlags>();
  sub.add_option("file", flags->file, "The .sparrow model")->required();
  sub.add_option("--input", flags->input, "JSONL input: {\"text\": ...} or {\"image\": [...]} per line")->required();
  sub.add_option("--output", flags->output, "JSONL predictions (default: stdout)");
  sub.add_option("--batch", flags->batch, "Items per engine run")->check(CLI::Range(1, 4096));
  sub.add_option("--threads", flags->threads, "Engine threads (default: all cores)")->envname("SPARROW_THREADS");
  return [flags] { return run(*flags); };
}

}  // namespace sparrow::apps
