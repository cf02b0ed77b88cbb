#include "data/text/text_records.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <set>
#include <string_view>

#include "core/errors.h"
#include "core/json_line.h"

namespace sparrow::data::text {

namespace {

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

// RFC 4180 records: quoted fields may hold commas, doubled quotes and line breaks.
struct CsvRecord {
  std::vector<std::string> fields;
  int64_t line;
};

std::vector<CsvRecord> csv_records(const std::string& content, const std::string& source) {
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

}  // namespace

TextRecords parse_jsonl(const std::string& content, const std::string& source, JsonlLabels labels) {
  const bool with_labels = labels == JsonlLabels::Required;
  TextRecords items;
  int64_t line_no = 0;
  for (const auto line : split_lines(content)) {
    ++line_no;
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    const std::string where = source + ":" + std::to_string(line_no);
    nlohmann::json j = parse_json_line(line, where);
    if (!j.is_object() || !j.contains("text") || !j["text"].is_string())
      throw BadInput(where + ": expected an object with a string \"text\"" + (with_labels ? " and a \"label\"" : ""));
    if (with_labels) {
      if (!j.contains("label")) throw BadInput(where + ": missing \"label\"");
      const auto& label = j["label"];
      if (label.is_number_integer()) {
        items.labels.emplace_back(label.get<int64_t>());
      } else if (label.is_string()) {
        items.labels.emplace_back(label.get<std::string>());
      } else {
        throw BadInput(where + ": \"label\" must be an integer or a string, found " + label.dump());
      }
    }
    items.texts.push_back(std::move(j["text"].get_ref<std::string&>()));
    items.lines.push_back(line_no);
  }
  return items;
}

TextRecords parse_csv(const std::string& content, const std::string& source) {
  const auto records = csv_records(content, source);
  if (records.empty()) throw BadInput(source + ": empty CSV file; expected a header with text and label columns");
  const auto& header = records.front().fields;
  const auto column = [&](const std::string& name) {
    const auto it = std::find(header.begin(), header.end(), name);
    if (it == header.end()) throw BadInput(source + ":1: the header has no '" + name + "' column");
    return static_cast<size_t>(it - header.begin());
  };
  const size_t text_col = column("text"), label_col = column("label");
  TextRecords items;
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

std::vector<std::string> label_names_of(const std::vector<const TextRecords*>& all, const std::string& source) {
  bool ints = false, strings = false;
  int64_t max_id = -1;
  std::set<std::string> names;
  for (const auto* items : all)
    for (size_t i = 0; i < items->labels.size(); ++i) {
      if (const auto* id = std::get_if<int64_t>(&items->labels[i])) {
        if (*id < 0) throw BadInput(source + ":" + std::to_string(items->lines[i]) + ": label ids must be >= 0");
        if (*id > kMaxLabelId)  // each id up to the largest becomes a class: a huge one would never finish
          throw BadInput(source + ":" + std::to_string(items->lines[i]) + ": label id " + std::to_string(*id) +
                         " is above " + std::to_string(kMaxLabelId) + "; use label names for sparse ids");
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

TextDataset resolve_labels(TextRecords records, const std::vector<std::string>& names, const std::string& name) {
  TextDataset d;
  d.name = name;
  d.label_names = names;
  d.texts = std::move(records.texts);
  for (const auto& l : records.labels) {
    if (const auto* id = std::get_if<int64_t>(&l)) {
      d.labels.push_back(*id);
    } else {
      d.labels.push_back(std::find(names.begin(), names.end(), std::get<std::string>(l)) - names.begin());
    }
  }
  return d;
}

}  // namespace sparrow::data::text
