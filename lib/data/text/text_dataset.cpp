#include "data/text/text_dataset.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "core/errors.h"
#include "core/files.h"
#include "data/text/spam_assassin.h"
#include "data/text/stable_hash.h"

namespace sparrow::data::text {

namespace {

TextRecords read_any(const std::filesystem::path& file) {
  const auto ext = file.extension().string();
  if (ext == ".jsonl") return parse_jsonl(read_file(file), file.string());
  if (ext == ".csv") return parse_csv(read_file(file), file.string());
  throw BadInput(file.string() + ": unknown text file type '" + ext + "'; expected .jsonl or .csv");
}

void apply_limit(TextDataset& d, int64_t limit) {
  if (limit <= 0 || d.size() <= limit) return;
  d.texts.resize(static_cast<size_t>(limit));
  d.labels.resize(static_cast<size_t>(limit));
}

}  // namespace

bool is_text_dataset(const std::string& dataset) {
  return dataset == "spam_assassin" || dataset == "jsonl" || dataset == "csv";
}

TextDataset load_jsonl(const std::filesystem::path& file) {
  TextRecords items = parse_jsonl(read_file(file), file.string());
  const auto names = label_names_of({&items}, file.string());
  return resolve_labels(std::move(items), names, file.filename().string());
}

TextDataset load_csv(const std::filesystem::path& file) {
  TextRecords items = parse_csv(read_file(file), file.string());
  const auto names = label_names_of({&items}, file.string());
  return resolve_labels(std::move(items), names, file.filename().string());
}

TextDataset load_text_file(const std::filesystem::path& file) {
  TextRecords items = read_any(file);
  const auto names = label_names_of({&items}, file.string());
  return resolve_labels(std::move(items), names, file.filename().string());
}

TextDataset load_text_dataset(const recipe::DataSpec& spec, Split split) {
  const int64_t limit = split == Split::Train ? spec.train_limit : spec.test_limit;
  if (spec.dataset == "spam_assassin")
    return load_spam_assassin(spec.path.empty() ? default_spam_assassin_dir() : std::filesystem::path(spec.path), split, limit);
  if (spec.dataset != "jsonl" && spec.dataset != "csv")
    throw BadInput("data.dataset: '" + spec.dataset + "' is not a text dataset; expected spam_assassin, jsonl or csv");
  if (spec.path.empty()) throw BadInput("data.path: dataset '" + spec.dataset + "' needs a file or a folder with train." + spec.dataset + " and test." + spec.dataset);
  const std::filesystem::path path = spec.path;
  TextDataset d;
  if (std::filesystem::is_directory(path)) {
    const auto train_file = path / ("train." + spec.dataset), test_file = path / ("test." + spec.dataset);
    TextRecords train = read_any(train_file), test = read_any(test_file);
    const auto names = label_names_of({&train, &test}, path.string());
    d = resolve_labels(std::move(split == Split::Train ? train : test), names, (split == Split::Train ? train_file : test_file).filename().string());
  } else {
    TextRecords all = read_any(path);
    if (path.extension() != "." + spec.dataset)
      throw BadInput("data.path: " + path.string() + " is not a ." + spec.dataset + " file");
    const auto names = label_names_of({&all}, path.string());
    TextRecords part;
    for (size_t i = 0; i < all.texts.size(); ++i) {
      if ((fnv1a64(all.texts[i]) % 5 == 4) != (split == Split::Test)) continue;
      part.texts.push_back(std::move(all.texts[i]));
      part.labels.push_back(std::move(all.labels[i]));
      part.lines.push_back(all.lines[i]);
    }
    d = resolve_labels(std::move(part), names, path.filename().string());
  }
  apply_limit(d, limit);
  spdlog::info("{} {}: {} items, {} labels", d.name, split == Split::Train ? "train" : "test", d.size(), d.label_names.size());
  return d;
}

Dataset encode_dataset(const TextDataset& texts, const sparrow::text::Tokenizer& tokenizer, int64_t max_length) {
  const int64_t n = texts.size();
  Dataset d;
  d.name = texts.name;
  d.label_names = texts.label_names;
  d.inputs = torch::empty({n, max_length}, torch::kInt64);
  d.attention_mask = torch::empty({n, max_length}, torch::kInt64);
  d.labels = torch::empty({n}, torch::kInt64);
  auto ids = d.inputs.accessor<int64_t, 2>();
  auto mask = d.attention_mask.accessor<int64_t, 2>();
  auto labels = d.labels.accessor<int64_t, 1>();
  for (int64_t i = 0; i < n; ++i) {
    const sparrow::text::Encoding e = tokenizer.encode(texts.texts[static_cast<size_t>(i)], max_length);
    for (int64_t t = 0; t < max_length; ++t) {
      ids[i][t] = e.ids[static_cast<size_t>(t)];
      mask[i][t] = e.mask[static_cast<size_t>(t)];
    }
    labels[i] = texts.labels[static_cast<size_t>(i)];
  }
  return d;
}

}  // namespace sparrow::data::text
