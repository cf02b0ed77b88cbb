// The engine: runs a loaded model's ops in order over a planned arena, on a persistent thread pool.
// Plans are made once per (batch, sequence) shape and kept. Not thread-safe: one run at a time.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/kernels/thread_pool.h"
#include "engine/kv_cache.h"
#include "engine/model.h"
#include "engine/plan.h"

namespace sparrow::engine {

// The thread counts the engine runs on (the calling thread included). Both apps' --threads and
// SPARROW_THREADS take this range, through parse_thread_count: one thread per item of work is a runaway.
inline constexpr std::size_t kMaxThreads = 256;

// `text` as a thread count from 1 to kMaxThreads. Anything else is BadInput naming where the text came from
// (`source`: a flag such as "--threads", or an environment variable such as "SPARROW_THREADS"), the text
// and the range.
std::size_t parse_thread_count(std::string_view text, std::string_view source);

// One thread per core, at most kMaxThreads.
std::size_t default_thread_count();

struct EngineOptions {
  std::size_t threads = 1;  // counts the calling thread; 1 to kMaxThreads (the constructor refuses others)
  bool profile = false;     // time every op (adds a clock read per op)
  bool keep_values = false; // never reuse a buffer, so value() can read any value after a run
  // A convolutional network's feature maps are megabytes per item: beyond about a cache's worth, the memory
  // traffic of a bigger batch costs more than its larger GEMMs save. Its batches run in chunks of items whose
  // arena fits this many bytes (Engine::chunk_items).
  std::size_t chunk_arena_bytes = std::size_t{16} << 20;
};

// A graph output after a run: points into the engine's arena, valid until the next run.
struct OutputView {
  std::string name;
  std::vector<std::size_t> shape;
  const float* data = nullptr;
};

// Accumulated time of one op over the runs since the last reset_profile().
struct OpTime {
  std::string name;
  OpKind kind = OpKind::relu;
  double seconds = 0;
  std::size_t calls = 0;
};

class Engine {
 public:
  Engine(std::shared_ptr<const Model> model, EngineOptions options);

  const Model& model() const { return *model_; }
  std::size_t threads() const { return pool_.size(); }
  // The ISA cap in force and the micro-kernels chosen for this CPU (kernels' dispatch).
  static std::string isa();
  static std::string kernel_names();

  // Runs the graph on `batch` items of `seq` tokens (text; ignored for images). inputs[i] holds graph input
  // i, contiguous, in its dtype (i64 ids and mask [batch][seq]; f32 images [batch][...]). A convolutional
  // network's large batch runs in chunks of items whose arena fits options.chunk_arena_bytes (chunk_items), so its
  // feature maps stay in cache; the outputs are gathered as one batch.
  // Returns the graph outputs (f32) in the file's order. A causal LM's graph runs its `seq` tokens after the
  // `cache`'s (batch 1), writing their keys and values there; the caller advances cache->length (decoder.h).
  std::vector<OutputView> run(std::size_t batch, std::size_t seq, const std::vector<const void*>& inputs,
                              KvCache* cache = nullptr);

  const Plan& plan(std::size_t batch, std::size_t seq);
  // How many items of a batch run together: all of them, except in a convolutional network without
  // keep_values, where as many as keep the arena within options.chunk_arena_bytes (at least one).
  std::size_t chunk_items(std::size_t batch, std::size_t seq);

  // Any f32 value of the last run, by name (with keep_values; otherwise only graph inputs and outputs are
  // sure to hold their value). Null when the name is unknown or the value has no buffer.
  const float* value(const std::string& name) const;
  const std::vector<OpTime>& profile() const { return profile_; }
  void reset_profile();

 private:
  std::vector<OutputView> run_planned(std::size_t batch, std::size_t seq, const std::vector<const void*>& inputs, KvCache* cache);

  std::shared_ptr<const Model> model_;
  EngineOptions options_;
  kernels::ThreadPool pool_;
  std::map<std::pair<std::size_t, std::size_t>, Plan> plans_;
  struct Aligned {
    void operator()(std::uint8_t* p) const;
  };
  std::unique_ptr<std::uint8_t, Aligned> arena_;
  std::size_t arena_bytes_ = 0;
  std::vector<OpTime> profile_;
  const Plan* last_plan_ = nullptr;
  std::vector<std::vector<float>> chunked_outputs_;  // a chunked run's outputs, per graph output
};

}  // namespace sparrow::engine
