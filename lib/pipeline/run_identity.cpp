#include "pipeline/run_identity.h"

#include <fmt/format.h>

#include <string>
#include <vector>

#include "compress/distributed/process_group.h"
#include "core/errors.h"
#include "core/files.h"
#include "core/sha256.h"
#include "recipe/recipe.h"

namespace sparrow::pipeline {

namespace {

// Named tensors' bytes, shapes and dtypes: one digest per tensor, then one of the list.
std::string tensors_sha256(const std::vector<std::pair<std::string, torch::Tensor>>& tensors) {
  std::string digests;
  for (const auto& [name, tensor] : tensors) {
    if (!tensor.defined()) continue;
    const auto t = tensor.detach().cpu().contiguous();
    digests += fmt::format("{} {} {} {}\n", name, c10::toString(t.scalar_type()), c10::str(t.sizes()),
                           sha256_hex(std::string_view(static_cast<const char*>(t.data_ptr()), t.nbytes())));
  }
  return sha256_hex(digests);
}

std::string dataset_sha256(const data::Dataset& train, const data::Dataset& test) {
  std::string labels;
  for (const auto& name : train.label_names) labels += name + "\n";
  return sha256_hex(tensors_sha256({{"train.inputs", train.inputs}, {"train.attention_mask", train.attention_mask},
                                    {"train.labels", train.labels}, {"test.inputs", test.inputs},
                                    {"test.attention_mask", test.attention_mask}, {"test.labels", test.labels}}) +
                    labels);
}

const char* describe(const std::string& key) {
  if (key == "recipe_sha256") return "the recipe (as resolved, with --set, --recipe-args and --seed applied)";
  if (key == "binary_sha256") return "the compress binary";
  if (key == "data_sha256") return "the data";
  if (key == "teacher_sha256") return "the teacher's weights";
  if (key == "world_size") return "the number of ranks (--nproc)";
  return "the run";
}

}  // namespace

nlohmann::json recipe_and_binary_identity(const recipe::Recipe& r) {
  return {{"recipe_sha256", sha256_hex(recipe::resolved_yaml(r))},
          {"binary_sha256", sha256_hex(read_file("/proc/self/exe"))},
          {"world_size", compress::distributed::world_size()},
          {"sparrow_version", SPARROW_VERSION}};
}

void add_data_and_teacher(nlohmann::json& identity, const data::Dataset& train, const data::Dataset& test,
                          models::Classifier* teacher) {
  identity["data_sha256"] = dataset_sha256(train, test);
  if (!teacher) {
    identity["teacher_sha256"] = nullptr;
    return;
  }
  std::vector<std::pair<std::string, torch::Tensor>> weights;
  for (const auto& p : teacher->named_parameters()) weights.emplace_back(p.key(), p.value());
  for (const auto& b : teacher->named_buffers()) weights.emplace_back(b.key(), b.value());
  identity["teacher_sha256"] = tensors_sha256(weights);
}

void check_same_run(const nlohmann::json& saved, const nlohmann::json& now, const std::filesystem::path& partial) {
  std::vector<std::string> differ;
  for (const auto& [key, value] : now.items()) {
    if (key == "sparrow_version") continue;  // named in the message; the binary's hash decides
    if (!saved.contains(key) || saved.at(key) != value) differ.push_back(describe(key));
  }
  if (differ.empty()) return;
  throw BadInput(fmt::format(
      "--resume: {} was started with other inputs: {} differ{} (it was started by Sparrow {}); a resumed run "
      "must continue the same computation. Resume with the same recipe, flags, data and binary, or remove {} to "
      "start over. Nothing was changed",
      partial.string(), fmt::join(differ, ", "), differ.size() == 1 ? "s" : "",
      saved.value("sparrow_version", std::string("?")), partial.string()));
}

}  // namespace sparrow::pipeline
