#include "compress/training_checkpoint.h"

#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <mutex>
#include <regex>
#include <sstream>

#include "compress/distributed/process_group.h"
#include "core/errors.h"
#include "core/files.h"
#include "models/checkpoint.h"

namespace sparrow::compress {

namespace {

namespace fs = std::filesystem;
namespace dist = distributed;

constexpr int kCheckpointVersion = 1;
constexpr const char* kLatest = "latest";

nlohmann::json record_json(const EpochRecord& r) {
  return {{"epoch", r.epoch},   {"loss", r.loss}, {"accuracy", r.accuracy}, {"validation_loss", r.validation_loss},
          {"perplexity", r.perplexity}, {"lr", r.lr}, {"sparsity", r.sparsity}};
}

EpochRecord record_from(const nlohmann::json& j) {
  EpochRecord r;
  r.epoch = j.at("epoch");
  r.loss = j.at("loss");
  r.accuracy = j.at("accuracy");
  r.validation_loss = j.at("validation_loss");
  r.perplexity = j.at("perplexity");
  r.lr = j.at("lr");
  r.sparsity = j.at("sparsity");
  return r;
}

nlohmann::json optional_json(const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); }
std::optional<double> optional_from(const nlohmann::json& j) {
  return j.is_null() ? std::nullopt : std::optional<double>(j.get<double>());
}

// The tensors each rank holds its own of, gathered from every rank (result[rank][i]) through a sum of slots,
// each rank filling its own: exact for bytes, float32 and integers below 2^53.
std::vector<std::vector<torch::Tensor>> gather_per_rank(const std::vector<torch::Tensor>& own) {
  std::vector<torch::Tensor> flat;
  size_t n = 0;
  for (const auto& t : own) {
    flat.push_back(t.detach().cpu().to(torch::kFloat64).contiguous().view({-1}));
    n += static_cast<size_t>(t.numel());
  }
  const int world = dist::world_size();
  std::vector<double> slots(n * static_cast<size_t>(world), 0.0);
  size_t at = static_cast<size_t>(dist::rank()) * n;
  for (const auto& t : flat) {
    std::copy(t.data_ptr<double>(), t.data_ptr<double>() + t.numel(), slots.begin() + static_cast<std::ptrdiff_t>(at));
    at += static_cast<size_t>(t.numel());
  }
  if (world > 1) slots = dist::all_reduce_sum(std::move(slots));
  std::vector<std::vector<torch::Tensor>> out(static_cast<size_t>(world));
  for (int r = 0; r < world; ++r) {
    size_t from = static_cast<size_t>(r) * n;
    for (const auto& t : own) {
      auto values = torch::from_blob(slots.data() + from, {t.numel()}, torch::kFloat64);
      out[static_cast<size_t>(r)].push_back(values.to(t.scalar_type()).view(t.sizes()).clone());
      from += static_cast<size_t>(t.numel());
    }
  }
  return out;
}

torch::Tensor rng_state() {
  auto generator = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(generator.mutex());
  return generator.get_state();
}

std::string rng_name(int rank) { return "rng:rank" + std::to_string(rank); }
std::string buffer_name(int rank, const std::string& name) { return "buffer:rank" + std::to_string(rank) + ":" + name; }
std::string modifier_prefix(size_t i) { return "modifier" + std::to_string(i) + "/"; }

fs::path latest_folder(const fs::path& dir) {
  const fs::path pointer = dir / kLatest;
  std::error_code ec;
  if (!fs::exists(pointer, ec)) return {};
  std::string name = read_file(pointer, 256);
  while (!name.empty() && (name.back() == '\n' || name.back() == ' ')) name.pop_back();
  if (!std::regex_match(name, std::regex("epoch-[0-9]+-step-[0-9]+")) || !fs::is_directory(dir / name, ec))
    throw BadInput(pointer.string() + ": names '" + name + "', not a checkpoint folder beside it");
  return dir / name;
}

}  // namespace

nlohmann::json read_latest_checkpoint_state(const fs::path& dir) {
  const fs::path folder = latest_folder(dir);
  if (folder.empty()) return nullptr;
  const fs::path file = folder / "state.json";
  nlohmann::json state = nlohmann::json::parse(read_file(file), nullptr, /*allow_exceptions=*/false);
  if (!state.is_object() || state.value("checkpoint_version", 0) != kCheckpointVersion)
    throw BadInput(file.string() + ": not a checkpoint of this version of Sparrow (checkpoint_version " +
                   std::to_string(kCheckpointVersion) + " expected)");
  return state;
}

void save_training_checkpoint(const Checkpointing& c, const LoopPosition& at, const TrainResult& so_far,
                              TrainState& state, const std::vector<std::unique_ptr<Modifier>>& modifiers) {
  // Each rank's RNG state (dropout) and buffers: BatchNorm's running statistics follow each rank's own slice of
  // the batches, and count once they are frozen. Rank 0's buffers are in model.safetensors.
  std::vector<torch::Tensor> rank_own = {rng_state()};
  std::vector<std::string> buffer_names;
  for (const auto& b : state.model.named_buffers()) {
    buffer_names.push_back(b.key());
    rank_own.push_back(b.value());
  }
  const auto per_rank = gather_per_rank(rank_own);
  // Each rank sums its own share of the global losses; the checkpoint holds the whole sum (see load).
  const double loss_sum = dist::all_reduce_sum({at.loss_sum})[0];
  if (dist::rank() != 0) return;
  const std::string name = fmt::format("epoch-{}-step-{}", at.epoch, at.step);
  std::error_code ec;
  // The first checkpoint is built beside `c.dir` and renamed to it, so that `c.dir` exists only with a
  // complete checkpoint in it: what lets the caller name it as resumable (announce) before it appears.
  const bool first = !fs::exists(c.dir / kLatest, ec);
  const fs::path root = first ? fs::path(c.dir.string() + ".tmp") : c.dir;
  if (first) fs::remove_all(root, ec);
  const fs::path folder = root / name;
  fs::remove_all(folder, ec);  // a half-written one a kill left
  fs::create_directories(folder, ec);
  if (ec) throw BadInput(folder.string() + ": cannot create the checkpoint folder: " + ec.message());

  nlohmann::json epochs = nlohmann::json::array();
  for (const auto& r : so_far.epochs) epochs.push_back(record_json(r));
  std::map<std::string, torch::Tensor> tensors;
  nlohmann::json modifier_states = nlohmann::json::array();
  for (size_t i = 0; i < modifiers.size(); ++i) {
    std::map<std::string, torch::Tensor> own;
    modifier_states.push_back(modifiers[i]->save_state(own));
    for (auto& [key, t] : own) tensors[modifier_prefix(i) + key] = t;
  }
  std::vector<std::pair<std::string, torch::Tensor>> tensor_list(tensors.begin(), tensors.end());
  for (size_t r = 0; r < per_rank.size(); ++r) {
    tensor_list.emplace_back(rng_name(static_cast<int>(r)), per_rank[r][0]);
    for (size_t i = 0; r > 0 && i < buffer_names.size(); ++i)
      tensor_list.emplace_back(buffer_name(static_cast<int>(r), buffer_names[i]), per_rank[r][i + 1]);
  }
  const nlohmann::json j = {
      {"checkpoint_version", kCheckpointVersion},
      {"identity", c.identity},
      {"position",
       {{"epoch", at.epoch}, {"step", at.step}, {"loss_sum", loss_sum}, {"local_sum", at.local_sum},
        {"train_items", at.train_items}, {"train_seconds", at.train_seconds}}},
      {"state_epoch", state.epoch},
      {"result",
       {{"epochs", epochs}, {"dense_accuracy", optional_json(so_far.dense_accuracy)},
        {"dense_perplexity", optional_json(so_far.dense_perplexity)}}},
      {"modifiers", modifier_states}};

  models::save_weights_and_config(folder, state.model, {});
  write_file_atomic(folder / "tensors.safetensors", models::serialize_tensors(tensor_list));
  std::ostringstream optimizer;
  torch::save(state.optimizer, optimizer);
  write_file_atomic(folder / "optimizer.pt", optimizer.str());
  write_file_atomic(folder / "state.json", j.dump(1) + "\n");
  sync_folder(folder);
  // The switch: until `latest` names the new folder, the previous checkpoint is the one a resume reads.
  write_file_atomic(root / kLatest, name + "\n");
  sync_folder(root);
  if (first) {
    if (c.announce) c.announce();
    fs::remove_all(c.dir, ec);  // a stray one without `latest`
    fs::rename(root, c.dir, ec);
    if (ec) throw BadInput(c.dir.string() + ": cannot move the first checkpoint into place: " + ec.message());
    sync_folder(c.dir.parent_path());
  }
  for (const auto& entry : fs::directory_iterator(c.dir, ec))
    if (entry.is_directory() && entry.path().filename() != name) fs::remove_all(entry.path(), ec);
  spdlog::debug("checkpoint {} written", (c.dir / name).string());
}

std::pair<LoopPosition, TrainResult> load_training_checkpoint(const Checkpointing& c, TrainState& state,
                                                              const std::vector<std::unique_ptr<Modifier>>& modifiers) {
  const fs::path folder = latest_folder(c.dir);
  if (folder.empty()) throw BadInput(c.dir.string() + ": holds no checkpoint to resume from");
  const nlohmann::json j = read_latest_checkpoint_state(c.dir);
  const std::string where = (folder / "state.json").string();
  try {
    const auto& at = j.at("position");
    LoopPosition position;
    position.epoch = at.at("epoch");
    position.step = at.at("step");
    // Rank 0 carries the whole sum, so that the epoch's all-reduce of the shares gives it again.
    position.loss_sum = dist::rank() == 0 ? at.at("loss_sum").get<double>() : 0.0;
    position.local_sum = at.at("local_sum");
    position.train_items = at.at("train_items");
    position.train_seconds = at.at("train_seconds");
    // Every rank must continue from the same checkpoint.
    dist::require_same("the checkpoint to resume from (" + folder.string() + ")",
                       position.epoch * (int64_t{1} << 32) + position.step);
    const auto& saved_modifiers = j.at("modifiers");
    if (saved_modifiers.size() != modifiers.size())
      throw BadInput(where + ": holds " + std::to_string(saved_modifiers.size()) + " modifiers, the recipe has " +
                     std::to_string(modifiers.size()));

    for (size_t i = 0; i < modifiers.size(); ++i) modifiers[i]->restore_structure(state, saved_modifiers[i]);
    models::load_state(state.model, folder / "model.safetensors");
    const auto tensors = models::read_tensors(folder / "tensors.safetensors");
    for (size_t i = 0; i < modifiers.size(); ++i) {
      std::map<std::string, torch::Tensor> own;
      const std::string prefix = modifier_prefix(i);
      for (const auto& [key, t] : tensors)
        if (key.rfind(prefix, 0) == 0) own[key.substr(prefix.size())] = t;
      modifiers[i]->restore_state(state, saved_modifiers[i], own);
    }
    std::istringstream optimizer(read_file(folder / "optimizer.pt"));
    torch::load(state.optimizer, optimizer);
    {
      auto generator = at::detail::getDefaultCPUGenerator();
      std::lock_guard<std::mutex> lock(generator.mutex());
      generator.set_state(tensors.at(rng_name(dist::rank())));
    }
    if (dist::rank() > 0) {
      torch::NoGradGuard no_grad;
      for (auto& b : state.model.named_buffers()) b.value().copy_(tensors.at(buffer_name(dist::rank(), b.key())));
    }
    state.epoch = j.at("state_epoch");

    TrainResult result;
    for (const auto& r : j.at("result").at("epochs")) result.epochs.push_back(record_from(r));
    result.dense_accuracy = optional_from(j.at("result").at("dense_accuracy"));
    result.dense_perplexity = optional_from(j.at("result").at("dense_perplexity"));
    spdlog::info("resuming from {} (epoch {}, step {})", folder.string(), position.epoch + 1, position.step);
    return {position, result};
  } catch (const nlohmann::json::exception& e) {
    throw BadInput(where + ": a broken checkpoint: " + e.what());
  } catch (const c10::Error& e) {
    throw BadInput(folder.string() + ": a broken checkpoint: " + e.what_without_backtrace());
  } catch (const std::out_of_range& e) {  // a tensor or observer the checkpoint should hold is missing
    throw BadInput(folder.string() + ": a broken checkpoint: " + e.what());
  }
}

}  // namespace sparrow::compress
