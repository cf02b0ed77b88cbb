// `sparrow inspect FILE [--json]`: what a .sparrow file holds — metadata, inputs and outputs, every op
// with its storage (dtype / weight format, shape, block sparsity, bytes), and the file's weight bytes
// against the same model stored dense FP32. A malformed file is reported (exit 2) by the reader.
#include <fmt/format.h>

#include <iostream>
#include <memory>
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

std::string human_bytes(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB"};
  int u = 0;
  while (b >= 1024 && u < 3) b /= 1024, ++u;
  return u == 0 ? fmt::format("{:.0f} B", b) : fmt::format("{:.2f} {}", b, units[u]);
}

// The metadata as printed: a tokenizer's vocabulary is summarised by its size.
nlohmann::json printable_metadata(const nlohmann::json& metadata) {
  nlohmann::json m = metadata;
  if (m.contains("sparrow.tokenizer") && m["sparrow.tokenizer"].is_object() && m["sparrow.tokenizer"].contains("vocab")) {
    m["sparrow.tokenizer"]["vocab_size"] = m["sparrow.tokenizer"]["vocab"].size();
    m["sparrow.tokenizer"].erase("vocab");
  }
  return m;
}

int run_inspect(const InspectFlags& flags) {
  const format::File f = format::File::open(flags.file);
  nlohmann::json ops = nlohmann::json::array();
  std::uint64_t stored_total = 0, dense_total = 0;
  struct FormatTotals {
    std::uint64_t layers = 0, stored = 0, dense = 0;
  };
  std::map<std::string, FormatTotals> by_format;
  for (const auto& op : f.graph()["ops"]) {
    nlohmann::json row = {{"name", op["name"]}, {"op", op["op"]}, {"inputs", op["inputs"]}, {"outputs", op["outputs"]}};
    OpBytes bytes;
    if (op.contains("weights"))
      for (const auto& [role, name] : op["weights"].items()) bytes.stored += f.find(name.get<std::string>())->nbytes;
    const std::string kind = op["op"];
    if (kind == "linear" || kind == "conv2d") {
      const format::WeightsView w = f.weights(op);
      const std::uint64_t bias = w.bias ? w.n * 4 : 0;
      bytes.dense_fp32 = w.n * w.k * 4 + bias;
      const std::string wf = format::weight_format_name(w.format);
      row["layer"] = {{"format", wf},
                      {"out_features", w.n},
                      {"in_features", w.k},
                      {"block_sparsity", format::block_sparsity(w)},
                      {"weight_bytes", format::weight_bytes(w)},
                      {"dense_fp32_weight_bytes", w.n * w.k * 4}};
      auto& t = by_format[wf];
      ++t.layers;
      t.stored += format::weight_bytes(w);
      t.dense += w.n * w.k * 4;
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
  for (const auto& [name, t] : by_format)
    formats[name] = {{"layers", t.layers}, {"weight_bytes", t.stored}, {"dense_fp32_weight_bytes", t.dense}};
  if (flags.json) {
    std::cout << nlohmann::json({{"file", flags.file},
                                 {"format_version", f.version()},
                                 {"file_bytes", f.size()},
                                 {"tensor_bytes", stored_total},
                                 {"dense_fp32_bytes", dense_total},
                                 {"formats", formats},
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
  std::cout << fmt::format("\n{:<48} {:<10} {:<11} {:>11} {:>9} {:>12} {:>12}\n", "op", "kind", "storage", "N x K", "sparsity",
                           "bytes", "dense FP32");
  for (const auto& row : ops) {
    std::string storage, shape, sparsity;
    if (row.contains("layer")) {
      const auto& l = row["layer"];
      storage = l["format"];
      shape = fmt::format("{}x{}", l["out_features"].get<std::uint64_t>(), l["in_features"].get<std::uint64_t>());
      sparsity = fmt::format("{:.1f} %", 100.0 * l["block_sparsity"].get<double>());
    }
    const auto b = row["bytes"].get<std::uint64_t>();
    std::cout << fmt::format("{:<48} {:<10} {:<11} {:>11} {:>9} {:>12} {:>12}\n", row["name"].get<std::string>(),
                             row["op"].get<std::string>(), storage, shape, sparsity, b ? human_bytes(static_cast<double>(b)) : "",
                             b ? human_bytes(static_cast<double>(row["dense_fp32_bytes"].get<std::uint64_t>())) : "");
  }
  std::cout << "\nlayer weights by storage (packed arrays without bias, against the same weights dense FP32):\n";
  for (const auto& [name, t] : by_format)
    std::cout << fmt::format("  {:<11} {:>3} layers  {:>12} of {:>12}  ({:.1f} %)\n", name, t.layers,
                             human_bytes(static_cast<double>(t.stored)), human_bytes(static_cast<double>(t.dense)),
                             t.dense ? 100.0 * static_cast<double>(t.stored) / static_cast<double>(t.dense) : 0.0);
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
  return [flags] { return run_inspect(*flags); };
}

}  // namespace sparrow::apps
