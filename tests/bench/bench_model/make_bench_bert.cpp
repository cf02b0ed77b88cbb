// Writes a BERT-shaped .sparrow file for speed measurements only: random weights (never trained), every
// encoder linear magnitude-pruned one-shot to the target share of zero 1x4 blocks (blocks scored by their
// mean |w|, per layer) and INT8-quantized with activation ranges calibrated on a few batches of random
// tokens. Its metadata says so (sparrow.weights = "untrained, one-shot pruned, for benchmarks").
//   make_bench_bert --out bert_base90.sparrow [--layers 12 --hidden 768 --heads 12 --ffn 3072 --vocab 30522
//                   --seq 128 --sparsity 0.9 --calibration-batches 4]
#include <CLI/CLI.hpp>
#include <torch/torch.h>

#include <iostream>

#include "core/errors.h"
#include "core/files.h"
#include "export/exporter.h"
#include "export/lower.h"
#include "models/bert/bert.h"

using namespace sparrow;

namespace {

// Zeroes the lowest-scoring `sparsity` share of W's 1x4 blocks (along K), in place.
void prune_block4(torch::Tensor w, double sparsity) {
  const std::int64_t n = w.size(0), k = w.size(1);
  const auto scores = w.abs().view({n, k / 4, 4}).mean(2);
  const auto flat = scores.flatten();
  const std::int64_t drop = static_cast<std::int64_t>(sparsity * static_cast<double>(flat.numel()));
  if (drop == 0) return;
  const float threshold = std::get<0>(flat.kthvalue(drop)).item<float>();
  const auto keep = (scores > threshold).unsqueeze(2).expand({n, k / 4, 4}).reshape({n, k});
  w.mul_(keep.to(w.dtype()));
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"make_bench_bert: a BERT-shaped, untrained, one-shot pruned INT8 .sparrow file for sparrow bench"};
  std::string out;
  models::bert::BertConfig c;
  c.vocab_size = 30522;
  c.hidden_size = 768;
  c.num_hidden_layers = 12;
  c.num_attention_heads = 12;
  c.intermediate_size = 3072;
  c.max_position_embeddings = 512;
  c.max_seq_length = 128;
  double sparsity = 0.9;
  std::int64_t calibration_batches = 4, calibration_batch = 8;
  app.add_option("--out", out, "The .sparrow file to write")->required();
  app.add_option("--layers", c.num_hidden_layers, "Encoder layers");
  app.add_option("--hidden", c.hidden_size, "Hidden width");
  app.add_option("--heads", c.num_attention_heads, "Attention heads");
  app.add_option("--ffn", c.intermediate_size, "FFN width");
  app.add_option("--vocab", c.vocab_size, "Vocabulary size");
  app.add_option("--seq", c.max_seq_length, "max_seq_length of the stored tokenizer");
  app.add_option("--sparsity", sparsity, "Share of zero 1x4 blocks in every encoder linear")->check(CLI::Range(0.0, 0.99));
  app.add_option("--calibration-batches", calibration_batches, "Batches of random tokens to calibrate on")->check(CLI::PositiveNumber);
  CLI11_PARSE(app, argc, argv);
  try {
    c.validate("make_bench_bert");
    torch::manual_seed(0);
    torch::set_num_threads(2);
    auto model = std::make_shared<models::bert::BertForSequenceClassification>(c);
    model->eval();
    std::vector<std::string> vocab = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
    while (static_cast<std::int64_t>(vocab.size()) < c.vocab_size) vocab.push_back("tok" + std::to_string(vocab.size()));
    model->set_tokenizer(std::make_shared<data::text::Tokenizer>(vocab, data::text::BasicTokenizerOptions{}));
    model->labels = {"0", "1"};
    {
      torch::NoGradGuard g;
      const auto params = model->named_parameters();
      for (const auto& name : model->prunable_parameters())
        if (name.rfind("bert.encoder.", 0) == 0) prune_block4(params[name], sparsity);
    }
    auto graph = exporter::lower_model(*model);
    std::vector<data::Batch> batches;
    for (std::int64_t b = 0; b < calibration_batches; ++b)
      batches.push_back({torch::randint(5, c.vocab_size, {calibration_batch, c.max_seq_length}, torch::kInt64),
                         torch::ones({calibration_batch, c.max_seq_length}, torch::kInt64), torch::zeros({calibration_batch}, torch::kInt64)});
    exporter::ExportOptions options;
    options.activations = exporter::calibrate(graph, batches);
    // Only the encoder is pruned and quantized, as a bert90 recipe does; pooler and classifier stay FP32.
    for (auto it = options.activations.begin(); it != options.activations.end();)
      it = it->first.rfind("bert.encoder.", 0) == 0 ? std::next(it) : options.activations.erase(it);
    options.quantization_source = "calibration";
    graph.metadata["sparrow.weights"] = "untrained, one-shot pruned, for benchmarks";
    exporter::ExportSummary summary;
    const std::string bytes = exporter::build_file(graph, options, &summary).serialize();
    write_file_atomic(out, bytes);
    std::size_t sparse = 0;
    for (const auto& l : summary.layers) sparse += l.format == format::WeightFormat::sparse_int8;
    std::cout << "wrote " << out << " (" << bytes.size() << " bytes, " << sparse << " sparse INT8 layers of " << summary.layers.size() << ")\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return exit_code_for(e);
  }
}
