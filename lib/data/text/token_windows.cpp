#include "data/text/token_windows.h"

#include "core/errors.h"

namespace sparrow::data::text {

std::vector<int64_t> token_stream(const Corpus& corpus, const sparrow::text::BpeTokenizer& tokenizer) {
  std::vector<int64_t> stream;
  const auto eos = tokenizer.special_ids().eos;
  for (const auto& doc : corpus.documents) {
    const auto ids = tokenizer.encode(doc.text, /*add_special_tokens=*/true);
    stream.insert(stream.end(), ids.begin(), ids.end());
    if (eos && (ids.empty() || ids.back() != *eos)) stream.push_back(*eos);
  }
  return stream;
}

Dataset token_windows(const std::string& name, const std::vector<int64_t>& stream, int64_t window, int64_t pad_id,
                      int64_t limit) {
  if (window < 2) throw BadInput(name + ": a window of " + std::to_string(window) + " tokens; a causal LM needs at least 2");
  const auto total = static_cast<int64_t>(stream.size());
  int64_t n = (total + window - 1) / window;
  if (limit > 0) n = std::min(n, limit);
  Dataset d;
  d.name = name;
  d.task = TaskKind::CausalLm;
  d.inputs = torch::full({n, window}, pad_id, torch::kInt64);
  d.attention_mask = torch::zeros({n, window}, torch::kInt64);
  auto ids = d.inputs.accessor<int64_t, 2>();
  auto mask = d.attention_mask.accessor<int64_t, 2>();
  for (int64_t w = 0; w < n; ++w)
    for (int64_t t = 0; t < window && w * window + t < total; ++t) {
      ids[w][t] = stream[static_cast<size_t>(w * window + t)];
      mask[w][t] = 1;
    }
  d.labels = d.inputs.masked_fill(d.attention_mask == 0, kIgnoredLabel);
  return d;
}

}  // namespace sparrow::data::text
