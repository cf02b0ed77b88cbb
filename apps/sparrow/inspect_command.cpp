// `sparrow inspect FILE [--json]`: what a .sparrow file holds — metadata, inputs and outputs, every op
// with its storage (dtype / weight format, shape, weight and 1x4-block sparsity, bytes), and each
// linear/conv2d layer's stored bytes against the same layer dense FP32 (docs/format.md "Layer size"),
// summed over the encoder's linear layers and over all layers. A malformed file is reported (exit 2) by the
// reader.
#include <fmt/format.h>

#include <algorithm>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <nlohmann/json.hpp>

#include "apps/sparrow/command.h"
#include "format/reader.h"

namespace sparrow::apps {

namespace {

struct InspectFlags {
  std::string file;
  bool json = false;
};

// Storage figures of one op's weights.
struct OpBytes {
  std::uint64_t stored = 0;      // every tensor the op references
  std::uint64_t dense_fp32 = 0;  // the same weights as plain FP32 arrays
};

std::string dims_text(const nlohmann::json& dims) {
  std::string s;
  for (const auto& d : dims) s += (s.empty() ? "" : "x") + std::to_string(d.get<std::int64_t>());
  return s;
}

// A size ratio as people quote it: "1/21.3" when the stored layer is smaller than dense FP32.
std::string ratio_text(std::uint64_t stored, std::uint64_t dense) {
  if (stored == 0 || dense == 0) return "-";
  const double r = static_cast<double>(dense) / static_cast<double>(stored);
  return r >= 1.0 ? fmt::format("1/{:.1f}", r) : fmt::format("{:.2f}x", 1.0 / r);
}

// Stored against dense FP32 bytes over a set of layers.
struct LayerTotals {
  std::uint64_t layers = 0, stored = 0, dense = 0;
  void add(std::uint64_t s, std::uint64_t d) { ++layers, stored += s, dense += d; }
  nlohmann::json json() const {
    return {{"layers", layers},
            {"stored_bytes", stored},
            {"dense_fp32_bytes", dense},
            {"ratio", stored ? static_cast<double>(dense) / static_cast<double>(stored) : 0.0},
            {"ratio_text", ratio_text(stored, dense)}};
  }
};

// Share of a layer's N x K weights that are zero: the figure report.json gives per layer (from the FP32
// weights there; INT8 rounding may zero a few more here). Not format::block_sparsity, the share of all-zero
// 1x4 blocks, which is lower when a mask leaves scattered weights.
double weight_sparsity(const format::WeightsView& w) {
  if (w.n * w.k == 0) return 0.0;
  std::size_t zero = 0;
  if (w.format == format::WeightFormat::fp32)
    for (const float f : format::unpack_fp32(w)) zero += f == 0.0f;
  else
    for (const std::int8_t q : format::unpack_int8(w)) zero += q == 0;
  return static_cast<double>(zero) / static_cast<double>(w.n * w.k);
}

// A sparse_int8 layer's stored tiles per tile row: {min, median, max, mean}. The sparse kernels' time
// follows the tiles, and threads split a layer by rows, so an uneven mask shows here before it shows as speed.
nlohmann::json tiles_per_row(const format::WeightsView& w) {
  const std::size_t rows = format::tile_rows_of(w.n, w.block_rows);
  std::vector<std::uint32_t> tiles(rows);
  for (std::size_t r = 0; r < rows; ++r) tiles[r] = w.row_ptr[r + 1] - w.row_ptr[r];
  std::sort(tiles.begin(), tiles.end());
  const double median = rows % 2 ? tiles[rows / 2] : 0.5 * (tiles[rows / 2 - 1] + tiles[rows / 2]);
  return {{"min", tiles.front()},
          {"median", median},
          {"max", tiles.back()},
          {"mean", static_cast<double>(w.block_count) / static_cast<double>(rows)}};
}

std::string human_bytes(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB"};
  int u = 0;
  while (b >= 1024 && u < 3) b /= 1024, ++u;
  return u == 0 ? fmt::format("{:.0f} B", b) : fmt::format("{:.2f} {}", b, units[u]);
}

// The metadata as printed: a tokenizer's vocabulary is summarised by its size (a BPE tokenizer's by its
// vocabulary's size and its merges' count).
nlohmann::json printable_metadata(const nlohmann::json& metadata) {
  nlohmann::json m = metadata;
  if (!m.contains("sparrow.tokenizer") || !m["sparrow.tokenizer"].is_object()) return m;
  auto& t = m["sparrow.tokenizer"];
  if (t.contains("vocab")) {
    t["vocab_size"] = t["vocab"].size();
    t.erase("vocab");
  }
  if (t.contains("tokenizer_json") && t["tokenizer_json"].is_object()) {
    const auto& model = t["tokenizer_json"].value("model", nlohmann::json::object());
    if (model.is_object()) {
      if (model.contains("vocab")) t["vocab_size"] = model["vocab"].size();
      if (model.contains("merges")) t["merges"] = model["merges"].size();
    }
    t.erase("tokenizer_json");
  }
  return m;
}

int run_inspect(const InspectFlags& flags) {
  const format::File f = format::File::open(flags.file);
  nlohmann::json ops = nlohmann::json::array();
  std::uint64_t stored_total = 0, dense_total = 0;
  LayerTotals encoder, all_layers;
  std::map<std::string, LayerTotals> by_format;
  for (const auto& op : f.graph()["ops"]) {
    nlohmann::json row = {{"name", op["name"]}, {"op", op["op"]}, {"inputs", op["inputs"]}, {"outputs", op["outputs"]}};
    OpBytes bytes;
    if (op.contains("weights"))
      for (const auto& [role, name] : op["weights"].items()) bytes.stored += f.find(name.get<std::string>())->nbytes;
    const std::string kind = op["op"], name = op["name"];
    if (kind == "linear" || kind == "conv2d") {
      const format::WeightsView w = f.weights(op);
      bytes.dense_fp32 = format::dense_fp32_bytes(w);
      const std::uint64_t stored = format::stored_bytes(w);
      const std::string wf = format::weight_format_name(w.format);
      row["layer"] = {{"format", wf},
                      {"out_features", w.n},
                      {"in_features", w.k},
                      {"weight_sparsity", weight_sparsity(w)},
                      {"block_sparsity", format::block_sparsity(w)},
                      {"stored_bytes", stored},
                      {"dense_fp32_bytes", bytes.dense_fp32},
                      {"ratio", static_cast<double>(bytes.dense_fp32) / static_cast<double>(stored)},
                      {"ratio_text", ratio_text(stored, bytes.dense_fp32)},
                      {"encoder", format::is_encoder_linear(name, kind)}};
      if (w.format == format::WeightFormat::sparse_int8) {
        row["layer"]["block_k4_dtype"] = format::dtype_name(w.block_k4_dtype);
        row["layer"]["tile"] = std::to_string(w.block_rows) + "x4";  // output rows x inputs sharing one pattern
        if (w.n > 0) row["layer"]["tiles_per_row"] = tiles_per_row(w);
      }
      by_format[wf].add(stored, bytes.dense_fp32);
      all_layers.add(stored, bytes.dense_fp32);
      if (format::is_encoder_linear(name, kind)) encoder.add(stored, bytes.dense_fp32);
    } else {
      bytes.dense_fp32 = bytes.stored;  // tables and norms are FP32 already
    }
    if (op.contains("attrs")) row["attrs"] = op["attrs"];
    row["bytes"] = bytes.stored;
    row["dense_fp32_bytes"] = bytes.dense_fp32;
    stored_total += bytes.stored;
    dense_total += bytes.dense_fp32;
    ops.push_back(row);
  }

  nlohmann::json formats = nlohmann::json::object();
  for (const auto& [format_name, t] : by_format) formats[format_name] = t.json();
  if (flags.json) {
    std::cout << nlohmann::json({{"file", flags.file},
                                 {"format_version", f.version()},
                                 {"file_bytes", f.size()},
                                 {"tensor_bytes", stored_total},
                                 {"dense_fp32_bytes", dense_total},
                                 {"formats", formats},
                                 {"layers_total", all_layers.json()},
                                 {"encoder_linear_total", encoder.json()},
                                 {"metadata", printable_metadata(f.metadata())},
                                 {"inputs", f.graph()["inputs"]},
                                 {"outputs", f.graph()["outputs"]},
                                 {"ops", ops}})
                     .dump(2)
              << std::endl;
    return 0;
  }

  std::cout << fmt::format("{}: .sparrow v{}, {}, {} tensors, {} ops\n", flags.file, f.version(), human_bytes(static_cast<double>(f.size())),
                           f.tensors().size(), ops.size());
  std::cout << "metadata:\n";
  const nlohmann::json metadata = printable_metadata(f.metadata());
  for (const auto& [key, value] : metadata.items()) {
    std::string text = value.dump();
    if (text.size() > 100) text = text.substr(0, 97) + "...";
    std::cout << fmt::format("  {:<26} {}\n", key, text);
  }
  for (const auto& in : f.graph()["inputs"])
    std::cout << fmt::format("input  {} {} [{}]\n", in["name"].get<std::string>(), in["dtype"].get<std::string>(),
                             dims_text(in["shape"]));
  for (const auto& out : f.graph()["outputs"]) std::cout << fmt::format("output {}\n", out["name"].get<std::string>());
  std::cout << fmt::format("\n{:<48} {:<10} {:<15} {:>11} {:>9} {:>9} {:>15} {:>12} {:>12} {:>8}\n", "op", "kind", "storage", "N x K",
                           "sparsity", "zero 1x4", "tiles/row", "bytes", "dense FP32", "ratio");
  for (const auto& row : ops) {
    std::string storage, shape, sparsity, zero_blocks, tiles, ratio;
    if (row.contains("layer")) {
      const auto& l = row["layer"];
      storage = l["format"];
      if (l.contains("tile")) storage += " " + l["tile"].get<std::string>();
      shape = fmt::format("{}x{}", l["out_features"].get<std::uint64_t>(), l["in_features"].get<std::uint64_t>());
      sparsity = fmt::format("{:.1f} %", 100.0 * l["weight_sparsity"].get<double>());
      zero_blocks = fmt::format("{:.1f} %", 100.0 * l["block_sparsity"].get<double>());
      ratio = l["ratio_text"];
      if (l.contains("tiles_per_row")) {
        const auto& t = l["tiles_per_row"];
        tiles = fmt::format("{}/{}/{}", t["min"].get<std::uint32_t>(), t["median"].get<double>(), t["max"].get<std::uint32_t>());
      }
    }
    const auto b = row["bytes"].get<std::uint64_t>();
    std::cout << fmt::format("{:<48} {:<10} {:<15} {:>11} {:>9} {:>9} {:>15} {:>12} {:>12} {:>8}\n", row["name"].get<std::string>(),
                             row["op"].get<std::string>(), storage, shape, sparsity, zero_blocks, tiles, b ? human_bytes(static_cast<double>(b)) : "",
                             b ? human_bytes(static_cast<double>(row["dense_fp32_bytes"].get<std::uint64_t>())) : "", ratio);
  }
  std::cout << "sparsity: zero weights (report.json's figure); zero 1x4: all-zero blocks of 4 inputs (what the sparse kernels skip);\n"
               "tiles/row: a sparse INT8 layer's stored tiles per tile row, min/median/max (threads split a layer by rows)\n";
  const auto total_line = [](const char* what, const LayerTotals& t) {
    std::cout << fmt::format("  {:<24} {:>3} layers  {:>10} B stored of {:>10} B dense FP32  ({})\n", what, t.layers, t.stored,
                             t.dense, ratio_text(t.stored, t.dense));
  };
  std::cout << "\nlayer sizes (every array a layer stores: indices, weights, row pointers, row sums, scales, bias;\n"
               "against its N x K weights and bias in dense FP32):\n";
  if (encoder.layers) total_line("encoder linear layers", encoder);
  total_line("all linear/conv2d layers", all_layers);
  for (const auto& [format_name, t] : by_format) total_line(format_name.c_str(), t);
  std::cout << fmt::format("total: {} of tensors vs {} for the model in dense FP32 ({:.1f} %); file {}\n",
                           human_bytes(static_cast<double>(stored_total)), human_bytes(static_cast<double>(dense_total)),
                           dense_total ? 100.0 * static_cast<double>(stored_total) / static_cast<double>(dense_total) : 0.0,
                           human_bytes(static_cast<double>(f.size())));
  return 0;
}

}  // namespace

Action register_inspect(CLI::App& sub, const CommonFlags&) {
  auto flags = std::make_shared<InspectFlags>();
  sub.add_option("FILE", flags->file, "The .sparrow file")->required();
  sub.add_flag("--json", flags->json, "Print everything as one JSON object on stdout");
  sub.footer(
      "Examples:\n"
      "  sparrow inspect out/bert90/model.sparrow\n"
      "  sparrow inspect model.sparrow --json | jq '.ops[] | select(.layer) | {name, s: .layer.weight_sparsity}'\n"
      "Per layer: sparsity is the share of zero weights (as in report.json), zero 1x4 the share of all-zero\n"
      "1x4 blocks (JSON: weight_sparsity, block_sparsity), tiles/row a sparse INT8 layer's stored tiles per\n"
      "tile row, min/median/max (JSON: tiles_per_row, with the mean). A malformed file is exit 2, naming what is wrong.");
  return [flags] { return run_inspect(*flags); };
}

}  // namespace sparrow::apps
