// `sparrow run FILE --input IN.jsonl [--output OUT.jsonl] [--batch N] [--threads T]`: one prediction per
// input line. Text models read {"text": "..."}, image models {"image": [values]}: C*H*W raw pixels in CHW
// order on the file's 0..pixel_range scale (0..255 for Fashion-MNIST), normalized as the file's
// sparrow.input_normalization says; a file without it takes the model's input values as they are
// (docs/format.md "Running a classifier"). The input is a regular file of at most 1 GiB, and every line is checked before anything
// runs: a bad one is BadInput naming the file, the line and the problem (exit 2). Output lines: {"line",
// "label", "label_index", "probabilities": {label: p}}; written atomically to --output, else to stdout.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <string_view>

#include "apps/sparrow/command.h"
#include "core/errors.h"
#include "core/files.h"
#include "core/json_line.h"
#include "engine/classifier.h"

namespace sparrow::apps {

namespace {

struct RunFlags {
  std::string file;
  std::string input;
  std::string output;
  std::size_t batch = 8;
  int threads = 0;  // 0: engine::default_thread_count()
};

// Far above any set of texts or images classified in one run: a larger input is a mistake, not data.
constexpr std::uintmax_t kMaxInputBytes = std::uintmax_t{1} << 30;

// One input item: its line number and its text or image values.
struct Item {
  std::size_t line = 0;
  std::string text;
  std::vector<float> image;
};

// A JSON value as text, cut short for messages.
std::string shown(const nlohmann::json& v) {
  const std::string text = v.dump();
  return text.size() > 40 ? text.substr(0, 40) + "..." : text;
}

std::vector<Item> read_items(const RunFlags& flags, const engine::Model& model) {
  const std::string content = read_file(flags.input, kMaxInputBytes);
  std::vector<Item> items;
  std::size_t line = 0;
  for (std::size_t begin = 0; begin < content.size();) {
    const std::size_t end = std::min(content.find('\n', begin), content.size());
    std::string_view text(content.data() + begin, end - begin);
    begin = end + 1;
    ++line;
    if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
    if (text.find_first_not_of(" \t") == std::string_view::npos) continue;
    const std::string where = flags.input + ":" + std::to_string(line);
    const nlohmann::json j = parse_json_line(text, where);
    if (!j.is_object()) throw BadInput(where + ": expected a JSON object, found " + shown(j));
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
      for (std::size_t i = 0; i < values.size(); ++i) {
        const auto& v = values[i];
        if (!v.is_number() || std::abs(v.get<double>()) > std::numeric_limits<float>::max())
          throw BadInput(fmt::format("{}: \"image\" value {} is {}, not a finite number within float range (±3.4e38)", where,
                                     i, shown(v)));
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
  options.threads = flags.threads > 0 ? static_cast<std::size_t>(flags.threads) : engine::default_thread_count();
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
      predictions = classifier.classify_pixels(images, end - begin);
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
  sub.add_option("--input", flags->input,
                 "JSONL input, a regular file of at most 1 GiB: {\"text\": ...} or {\"image\": [C*H*W raw pixels, e.g. 0..255]} per line")
      ->required();
  sub.add_option("--output", flags->output, "JSONL predictions (default: stdout)");
  sub.add_option("--batch", flags->batch, "Items per engine run")->check(CLI::Range(1, 4096))->capture_default_str();
  add_threads_option(sub, flags->threads, "Engine threads", "all cores");
  sub.footer(
      "Examples:\n"
      "  sparrow run model.sparrow --input texts.jsonl                (texts.jsonl: {\"text\": \"...\"} per line)\n"
      "  sparrow run cnn.sparrow --input images.jsonl --output predictions.jsonl --batch 32\n"
      "  SPARROW_THREADS=2 sparrow run model.sparrow --input texts.jsonl > predictions.jsonl\n"
      "Images are raw pixels, normalized as the file's sparrow.input_normalization says (files without it take\n"
      "the model's normalized input values).\n"
      "Each output line: {\"line\": N, \"label\": ..., \"label_index\": ..., \"probabilities\": {...}}.\n"
      "Exit codes: 0 ok, 2 bad input (a bad line is named with its number; nothing is written), 3 internal error.");
  return [flags] { return run(*flags); };
}

}  // namespace sparrow::apps
