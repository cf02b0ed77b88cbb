#include "data/text/text_dataset.h"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <set>
#include <variant>

#include "core/errors.h"
#include "core/files.h"
#include "core/json_line.h"
#include "data/text/spam_assassin.h"

namespace sparrow::data::text {

namespace {

// A label as read: an integer id or a name; resolved to ids once all are known.
using RawLabel = std::variant<int64_t, std::string>;

struct RawItems {
  std::vector<std::string> texts;
  std::vector<RawLabel> labels;
  std::vector<int64_t> lines;  // source line of each item, for errors
};

std::vector<std::string_view> split_lines(const std::string& text) {
  std::vector<std::string_view> lines;
  size_t begin = 0;
  while (begin < text.size()) {
    size_t end = text.find('\n', begin);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + begin, end - begin);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    begin = end + 1;
  }
  return lines;
}

RawItems read_jsonl(const std::filesystem::path& file) {
  const std::string content = read_file(file);
  RawItems items;
  int64_t line_no = 0;
  for (const auto line : split_lines(content)) {
    ++line_no;
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    const std::string where = file.string() + ":" + std::to_string(line_no);
    nlohmann::json j = parse_json_line(line, where);
    if (!j.is_object() || !j.contains("text") || !j["text"].is_string())
      throw BadInput(where + ": expected an object with a string \"text\" and a \"label\"");
    if (!j.contains("label")) throw BadInput(where + ": missing \"label\"");
    const auto& label = j["label"];
    if (label.is_number_integer()) {
      items.labels.emplace_back(label.get<int64_t>());
    } else if (label.is_string()) {
      items.labels.emplace_back(label.get<std::string>());
    } else {
      throw BadInput(where + ": \"label\" must be an integer or a string, found " + label.dump());
    }
    items.texts.push_back(j["text"].get<std::string>());
    items.lines.push_back(line_no);
  }
  return items;
}

// RFC 4180 records: quoted fields may hold commas, doubled quotes and line breaks.
struct CsvRecord {
  std::vector<std::string> fields;
  int64_t line;
};

std::vector<CsvRecord> parse_csv(const std::string& content, const std::string& source) {
  std::vector<CsvRecord> records;
  CsvRecord rec{{}, 1};
  std::string field;
  bool quoted = false, field_started = false, after_quote = false;
  int64_t line = 1;
  int64_t quote_line = 0;
  const auto end_record = [&] {
    if (!(rec.fields.empty() && field.empty() && !field_started)) {
      rec.fields.push_back(std::move(field));
      records.push_back(std::move(rec));
    }
    field.clear();
    rec = CsvRecord{{}, line};
    field_started = after_quote = false;
  };
  for (size_t i = 0; i < content.size(); ++i) {
    const char c = content[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < content.size() && content[i + 1] == '"') {
          field += '"';
          ++i;
        } else {
          quoted = false;
          after_quote = true;
        }
      } else {
        if (c == '\n') ++line;
        field += c;
      }
      continue;
    }
    if (c == ',') {
      rec.fields.push_back(std::move(field));
      field.clear();
      field_started = after_quote = false;
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < content.size() && content[i + 1] == '\n') ++i;
      ++line;
      end_record();
    } else if (c == '"' && !field_started) {
      quoted = field_started = true;
      quote_line = line;
    } else {
      if (after_quote || c == '"')
        throw BadInput(source + ":" + std::to_string(line) + ": stray quote or text after a closing quote");
      field += c;
      field_started = true;
    }
  }
  if (quoted) throw BadInput(source + ":" + std::to_string(quote_line) + ": quoted field is never closed");
  end_record();
  return records;
}

RawItems read_csv(const std::filesystem::path& file) {
  const std::string source = file.string();
  const auto records = parse_csv(read_file(file), source);
  if (records.empty()) throw BadInput(source + ": empty CSV file; expected a header with text and label columns");
  const auto& header = records.front().fields;
  const auto column = [&](const std::string& name) {
    const auto it = std::find(header.begin(), header.end(), name);
    if (it == header.end()) throw BadInput(source + ":1: the header has no '" + name + "' column");
    return static_cast<size_t>(it - header.begin());
  };
  const size_t text_col = column("text"), label_col = column("label");
  RawItems items;
  for (size_t r = 1; r < records.size(); ++r) {
    const auto& rec = records[r];
    const std::string where = source + ":" + std::to_string(rec.line);
    if (rec.fields.size() != header.size())
      throw BadInput(where + ": expected " + std::to_string(header.size()) + " fields as in the header, found " +
                     std::to_string(rec.fields.size()));
    const std::string& label = rec.fields[label_col];
    if (label.empty()) throw BadInput(where + ": empty label");
    const bool integer = label.find_first_not_of("0123456789") == std::string::npos && label.size() < 18;
    if (integer) {
      items.labels.emplace_back(static_cast<int64_t>(std::stoll(label)));
    } else {
      items.labels.emplace_back(label);
    }
    items.texts.push_back(rec.fields[text_col]);
    items.lines.push_back(rec.line);
  }
  return items;
}

// Label names for all items of all files: integers 0..max, or sorted strings.
std::vector<std::string> label_names_of(const std::vector<const RawItems*>& all, const std::string& source) {
  bool ints = false, strings = false;
  int64_t max_id = -1;
  std::set<std::string> names;
  for (const auto* items : all)
    for (size_t i = 0; i < items->labels.size(); ++i) {
      if (const auto* id = std::get_if<int64_t>(&items->labels[i])) {
        if (*id < 0) throw BadInput(source + ":" + std::to_string(items->lines[i]) + ": label ids must be >= 0");
        ints = true;
        max_id = std::max(max_id, *id);
      } else {
        strings = true;
        names.insert(std::get<std::string>(items->labels[i]));
      }
      if (ints && strings)
        throw BadInput(source + ":" + std::to_string(items->lines[i]) +
                       ": labels mix integers and names; use one kind throughout");
    }
  if (strings) return {names.begin(), names.end()};
  std::vector<std::string> out;
  for (int64_t i = 0; i <= max_id; ++i) out.push_back(std::to_string(i));
  return out;
}

TextDataset resolve(RawItems items, const std::vector<std::string>& names, const std::string& name) {
  TextDataset d;
  d.name = name;
  d.label_names = names;
  d.texts = std::move(items.texts);
  for (const auto& l : items.labels) {
    if (const auto* id = std::get_if<int64_t>(&l)) {
      d.labels.push_back(*id);
    } else {
      d.labels.push_back(std::find(names.begin(), names.end(), std::get<std::string>(l)) - names.begin());
    }
  }
  return d;
}

RawItems read_any(const std::filesystem::path& file) {
  const auto ext = file.extension().string();
  if (ext == ".jsonl") return read_jsonl(file);
  if (ext == ".csv") return read_csv(file);
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
  RawItems items = read_jsonl(file);
  const auto names = label_names_of({&items}, file.string());
  return resolve(std::move(items), names, file.filename().string());
}

TextDataset load_csv(const std::filesystem::path& file) {
  RawItems items = read_csv(file);
  const auto names = label_names_of({&items}, file.string());
  return resolve(std::move(items), names, file.filename().string());
}

TextDataset load_text_file(const std::filesystem::path& file) {
  RawItems items = read_any(file);
  const auto names = label_names_of({&items}, file.string());
  return resolve(std::move(items), names, file.filename().string());
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
    RawItems train = read_any(train_file), test = read_any(test_file);
    const auto names = label_names_of({&train, &test}, path.string());
    d = resolve(std::move(split == Split::Train ? train : test), names, (split == Split::Train ? train_file : test_file).filename().string());
  } else {
    RawItems all = read_any(path);
    if (path.extension() != "." + spec.dataset)
      throw BadInput("data.path: " + path.string() + " is not a ." + spec.dataset + " file");
    const auto names = label_names_of({&all}, path.string());
    RawItems part;
    for (size_t i = 0; i < all.texts.size(); ++i) {
      if ((fnv1a64(all.texts[i]) % 5 == 4) != (split == Split::Test)) continue;
      part.texts.push_back(std::move(all.texts[i]));
      part.labels.push_back(std::move(all.labels[i]));
      part.lines.push_back(all.lines[i]);
    }
    d = resolve(std::move(part), names, path.filename().string());
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
