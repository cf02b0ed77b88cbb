// `sparrow generate FILE (--prompt TEXT | --prompt-ids IDS) [--max-tokens N] [--temperature T] [--top-k K]
// [--top-p P] [--seed S] [--threads T] [--json]`: a causal LM continues the prompt. Text streams to standard
// output token by token (a character cut between tokens waits for its end); --json prints one object instead:
// the prompt's ids, each generated token's id, text and log-probability, the whole text and why it stopped.
// Sampling is reproducible for a seed (engine/sampler.h says how).
#include <fmt/format.h>

#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "apps/sparrow/command.h"
#include "core/errors.h"
#include "engine/generate.h"

namespace sparrow::apps {

namespace {

struct GenerateFlags {
  std::string file;
  std::string prompt;
  std::string prompt_ids;
  bool text_prompt = false;
  std::size_t max_tokens = 64;
  engine::SamplingOptions sampling;
  int threads = 1;
  bool json = false;
};

// "1,2,3" (commas or spaces) as token ids; anything else is BadInput naming the flag.
std::vector<std::int64_t> parse_ids(const std::string& text) {
  std::vector<std::int64_t> ids;
  std::string item;
  std::istringstream in(text);
  while (in >> item) {
    std::istringstream parts(item);
    std::string part;
    while (std::getline(parts, part, ',')) {
      if (part.empty()) continue;
      std::size_t used = 0;
      long long id = 0;
      try {
        id = std::stoll(part, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used != part.size()) throw BadInput("--prompt-ids: \"" + part + "\" is not a token id (expected integers separated by commas)");
      ids.push_back(id);
    }
  }
  return ids;
}

// The length of `text` without a trailing U+FFFD: a character whose bytes are not all generated yet.
std::size_t complete_prefix(const std::string& text) {
  static const std::string kReplacement = "\xEF\xBF\xBD";
  if (text.size() >= 3 && text.compare(text.size() - 3, 3, kReplacement) == 0) return text.size() - 3;
  return text.size();
}

int generate(const GenerateFlags& flags) {
  const auto model = engine::Model::load(flags.file);
  engine::Decoder decoder(model, {static_cast<std::size_t>(flags.threads), false, false});
  const text::BpeTokenizer* tokenizer = model->bpe_tokenizer();
  std::vector<std::int64_t> prompt;
  if (flags.text_prompt) {
    if (tokenizer == nullptr) throw BadInput(flags.file + ": the model carries no tokenizer (sparrow.tokenizer); give --prompt-ids");
    prompt = tokenizer->encode(flags.prompt);
  } else {
    prompt = parse_ids(flags.prompt_ids);
  }
  engine::GenerateOptions options;
  options.max_tokens = flags.max_tokens;
  options.sampling = flags.sampling;
  if (tokenizer != nullptr) options.eos = tokenizer->special_ids().eos;

  std::vector<std::int64_t> ids;
  std::size_t printed = 0;
  const auto stream = [&](const engine::SampledToken& t) {
    ids.push_back(t.id);
    if (flags.json || tokenizer == nullptr) {
      if (!flags.json) std::cout << (ids.size() > 1 ? " " : "") << t.id << std::flush;
      return;
    }
    const std::string text = tokenizer->decode(ids, /*skip_special_tokens=*/true);
    const std::size_t ready = complete_prefix(text);
    if (ready > printed) {
      std::cout << text.substr(printed, ready - printed) << std::flush;
      printed = ready;
    }
  };
  const engine::Generation g = engine::generate(decoder, prompt, options, flags.text_prompt ? "--prompt" : "--prompt-ids", stream);
  if (!flags.json) {
    if (tokenizer != nullptr) {
      const std::string text = tokenizer->decode(ids, true);
      if (text.size() > printed) std::cout << text.substr(printed);
    }
    std::cout << std::endl;
    return 0;
  }
  nlohmann::json tokens = nlohmann::json::array();
  for (const auto& t : g.tokens) {
    nlohmann::json j = {{"id", t.id}, {"log_prob", t.log_prob}};
    if (tokenizer != nullptr) j["text"] = tokenizer->decode({t.id});
    tokens.push_back(j);
  }
  nlohmann::json out = {{"prompt_ids", prompt}, {"tokens", tokens}, {"stop", g.stop},
                        {"prefill_seconds", g.prefill_seconds}, {"decode_seconds", g.decode_seconds}};
  if (tokenizer != nullptr) out["text"] = tokenizer->decode(ids, true);
  // Token texts may cut a character in two: such bytes print as U+FFFD rather than fail the dump.
  std::cout << out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << std::endl;
  return 0;
}

}  // namespace

Action register_generate(CLI::App& sub, const CommonFlags&) {
  auto flags = std::make_shared<GenerateFlags>();
  sub.add_option("file", flags->file, "The .sparrow causal LM")->required();
  CLI::Option* text = sub.add_option("--prompt", flags->prompt, "Text to continue (encoded with the file's tokenizer)");
  CLI::Option* ids = sub.add_option("--prompt-ids", flags->prompt_ids, "Token ids to continue, e.g. 1,15,27");
  text->excludes(ids);
  sub.add_option("--max-tokens", flags->max_tokens, "Tokens to generate at most")->check(CLI::Range(0, 1 << 20))->capture_default_str();
  sub.add_option("--temperature", flags->sampling.temperature, "Softmax temperature; 0: greedy")
      ->check(CLI::Range(0.0, 1000.0))
      ->capture_default_str();
  sub.add_option("--top-k", flags->sampling.top_k, "Sample among the K most likely tokens; 0: all")
      ->check(CLI::Range(0, 1 << 24))
      ->capture_default_str();
  sub.add_option("--top-p", flags->sampling.top_p, "Then among the fewest most likely tokens holding probability P; 1: all")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  sub.add_option("--seed", flags->sampling.seed, "Seed of the sampler (std::mt19937_64): the same seed, the same text")
      ->capture_default_str();
  add_threads_option(sub, flags->threads, "Threads for the engine", "1");
  sub.add_flag("--json", flags->json, "Print one JSON object: prompt ids, tokens (id, text, log_prob), text, stop");
  sub.footer(
      "Examples:\n"
      "  sparrow generate llama.sparrow --prompt \"The Union\" --max-tokens 40\n"
      "  sparrow generate llama.sparrow --prompt \"The Union\" --temperature 0 --json   (greedy, with log-probs)\n"
      "  sparrow generate llama.sparrow --prompt-ids 1,415,263 --seed 7\n"
      "Exit codes: 0 ok, 2 bad input (not a causal LM, a prompt longer than the context, an unknown token id), 3 internal error.");
  return [flags, text, ids] {
    if (text->count() == 0 && ids->count() == 0) throw BadInput("generate: give --prompt TEXT or --prompt-ids IDS");
    flags->text_prompt = text->count() > 0;
    return generate(*flags);
  };
}

}  // namespace sparrow::apps
