#pragma once
// What a causal-LM recipe (a text corpus: sotu, moby_dick, text) runs on: a Llama and the corpus cut into
// windows of its context (max_position_embeddings). The corpus splits by whole document (corpus_split.h):
// the train part's windows train, the validation part's are measured after every epoch, the test part is
// left for `compress eval`.
//
// The vocabulary, as a Hugging Face model folder keeps it: model.vocab_size is the size of a byte-level BPE
// vocabulary learned on the train part (special tokens <s> and </s>, <s> leading every document), unless
// model.tokenizer names a tokenizer.json to use as it is; the config's vocab_size, bos_token_id and
// eos_token_id then follow the tokenizer. The checkpoint folder carries tokenizer.json and
// tokenizer_config.json (llama_folder.h writes generation_config.json).
#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>

#include "models/llama/llama.h"
#include "pipeline/task_data.h"
#include "text/bpe_tokenizer.h"

namespace sparrow::pipeline {

// `from`: a Llama folder to start from (with its tokenizer.json); model_config's architecture fields are then
// ignored. BadInput, prefixed by `context`, for a model that is not a Llama.
Task prepare_causal_lm_task(nlohmann::json model_config, const recipe::DataSpec& data, const std::filesystem::path& from,
                            const std::string& context);

// The tokenizer of a Llama model folder: DIR/tokenizer.json with the config's bos and eos ids. BadInput naming
// the folder when it has none.
text::BpeTokenizer folder_tokenizer(const models::llama::LlamaForCausalLM& model, const std::filesystem::path& dir);

}  // namespace sparrow::pipeline
