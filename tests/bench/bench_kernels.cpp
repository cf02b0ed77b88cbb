// Microbenchmarks of the linear kernels at BERT-base shapes (shapes/bert_base.txt), with the core's
// arithmetic peak measured in the same run by register-only loops (peak.h). Counters:
//   GOPS      2 x multiply-adds per second, counted on the nonzero weights only (the useful work);
//   GOPS_exec the same counted on the multiply-adds executed (stored 1x4 blocks or R x 4 tiles, zeros in them
//             included: padded for unstructured);
//   pct_peak  GOPS as a percentage of the INT8 (or, for FP32, the FMA) peak measured at start.
// Inputs are pre-packed; each iteration is the GEMM with its fused epilogue, writing FP32 row-major output,
// or (the *_qu8 variants) requantized UINT8 straight into the next layer's activation panels.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <numeric>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "engine/kernel_weights.h"
#include "engine/kernels/isa.h"
#include "engine/kernels/linear.h"
#include "engine/kernels/ops.h"
#include "format/weights.h"
#include "peak.h"

namespace sk = sparrow::kernels;

namespace {

struct Shape {
  std::size_t k, n;
};

std::vector<Shape> load_shapes() {
  const char* env = std::getenv("SPARROW_BENCH_SHAPES");
  const std::string path = env != nullptr ? env : SPARROW_BENCH_SHAPES;
  std::ifstream in(path);
  if (!in) {
    std::fprintf(stderr, "bench_kernels: cannot read shapes file %s\n", path.c_str());
    std::exit(2);
  }
  std::vector<Shape> shapes;
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    Shape s{};
    if (!(fields >> s.k >> s.n)) {
      std::fprintf(stderr, "bench_kernels: %s: expected \"K N\", got \"%s\"\n", path.c_str(), line.c_str());
      std::exit(2);
    }
    shapes.push_back(s);
  }
  return shapes;
}

// Other processes on this shared machine show here; a 2-thread result is only meaningful when it is low.
std::string loadavg() {
  std::ifstream in("/proc/loadavg");
  std::string one, five;
  in >> one >> five;
  return one + " " + five;
}

struct Peaks {
  double int8 = 0;  // ops/s
  double fp32 = 0;
  const char* int8_loop = "";
  const char* fp32_loop = "";
} g_peak;

double thread_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// Median over 7 runs of ~30 ms each, in this thread's CPU time: the machine is shared, and time other
// processes take from this core must not count against its peak.
double measure(double (*loop)(std::int64_t)) {
  std::int64_t iterations = 1 << 16;
  for (;;) {
    const double t0 = thread_seconds();
    loop(iterations);
    if (thread_seconds() - t0 > 0.01) break;
    iterations *= 2;
  }
  iterations *= 3;
  std::vector<double> rates;
  for (int r = 0; r < 7; ++r) {
    const double t0 = thread_seconds();
    const double ops = loop(iterations);
    rates.push_back(ops / (thread_seconds() - t0));
  }
  std::nth_element(rates.begin(), rates.begin() + 3, rates.end());
  return rates[3];
}

sk::ThreadPool& pool(std::size_t threads) {
  static sk::ThreadPool one(1), two(2);
  return threads == 1 ? one : two;
}

// W[n][k] with exactly round(sparsity * tiles) zero rows x 4 tiles (rows = 1: block4; R x 4 tiles share a
// pattern over R output rows, as an [R,4] mask leaves them), or each weight zero with probability `sparsity`
// (unstructured). Kept weights are nonzero.
std::vector<std::int8_t> make_weights(const Shape& s, double sparsity, bool unstructured, std::size_t rows,
                                      std::mt19937_64& rng) {
  std::uniform_int_distribution<int> value(1, 127);
  std::bernoulli_distribution sign(0.5), zero(sparsity);
  std::vector<std::int8_t> w(s.n * s.k);
  for (auto& v : w) v = static_cast<std::int8_t>(sign(rng) ? value(rng) : -value(rng));
  if (unstructured) {
    for (auto& v : w) v = zero(rng) ? 0 : v;
    return w;
  }
  const std::size_t k4 = s.k / 4, blocks = s.n / rows * k4;
  std::vector<std::size_t> order(blocks);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::shuffle(order.begin(), order.end(), rng);
  for (std::size_t i = 0; i < static_cast<std::size_t>(sparsity * static_cast<double>(blocks) + 0.5); ++i) {
    const std::size_t tile_row = order[i] / k4, b = order[i] % k4;
    for (std::size_t r = 0; r < rows; ++r)
      std::fill_n(w.begin() + static_cast<std::ptrdiff_t>((tile_row * rows + r) * s.k + b * 4), 4, std::int8_t{0});
  }
  return w;
}

void set_counters(benchmark::State& st, double useful_ops, double executed_ops, double peak) {
  using benchmark::Counter;
  st.counters["GOPS"] = Counter(useful_ops * 1e-9, Counter::kIsIterationInvariantRate);
  st.counters["GOPS_exec"] = Counter(executed_ops * 1e-9, Counter::kIsIterationInvariantRate);
  st.counters["pct_peak"] = Counter(useful_ops / peak * 100.0, Counter::kIsIterationInvariantRate);
}

sk::QEpilogueParams epilogue_params(const std::vector<float>& w_scale, const std::vector<float>& bias) {
  sk::QEpilogueParams p;
  p.x_scale = 0.02f;
  p.x_zero_point = 128;
  p.w_scale = w_scale.data();
  p.bias = bias.data();
  return p;
}

// r2x4 / r4x4: R x 4 tiles (spmm_kernel(R)), otherwise as block4.
enum class Kind { block4, unstructured, dense_int8, fp32, block4_qu8, dense_int8_qu8, r2x4, r4x4 };

void run(benchmark::State& st, Shape s, std::size_t m, Kind kind, double sparsity, std::size_t threads) {
  std::mt19937_64 rng(42);
  std::vector<float> y(m * s.n), w_scale(s.n, 0.01f), bias(s.n, 0.5f);
  std::uniform_int_distribution<int> byte(0, 255);
  // Activation panels of random bytes: their values, padding included, do not change the work.
  const auto random_panels = [&](std::size_t mr) {
    std::vector<std::uint8_t> panels(sk::panels_bytes(m, s.k, mr));
    for (auto& v : panels) v = static_cast<std::uint8_t>(byte(rng));
    return panels;
  };
  sk::ThreadPool& tp = pool(threads);

  if (kind == Kind::fp32) {
    std::uniform_real_distribution<float> real(-1.0f, 1.0f);
    std::vector<float> xf(m * s.k), wf(s.n * s.k);
    for (auto& v : xf) v = real(rng);
    for (auto& v : wf) v = real(rng);
    const sparrow::format::PackedWeights packed = sparrow::format::pack_fp32(wf.data(), s.n, s.k);
    for (auto _ : st) {
      sk::f32_gemm(xf.data(), m, s.k, packed.f32.data(), s.n, s.k, bias.data(), sk::Activation::none, y.data(), s.n,
                   &tp);
      benchmark::ClobberMemory();
    }
    const double ops = 2.0 * static_cast<double>(m * s.n * s.k);
    set_counters(st, ops, ops, g_peak.fp32 * static_cast<double>(threads));
    st.SetLabel(sk::f32_gemm_kernel().name);
    return;
  }

  const bool dense = kind == Kind::dense_int8 || kind == Kind::dense_int8_qu8;
  const bool qu8_out = kind == Kind::block4_qu8 || kind == Kind::dense_int8_qu8;
  const std::size_t rows = kind == Kind::r2x4 ? 2 : kind == Kind::r4x4 ? 4 : 1;
  const std::vector<std::int8_t> w = make_weights(s, dense ? 0.0 : sparsity, kind == Kind::unstructured, rows, rng);
  const double nonzero = static_cast<double>(std::count_if(w.begin(), w.end(), [](std::int8_t v) { return v != 0; }));
  sk::QEpilogueParams p = epilogue_params(w_scale, bias);
  p.y = {0.05f, 128};
  const double peak = g_peak.int8 * static_cast<double>(threads);
  // Packed by the format and mapped as the engine maps a file: the bench times what the engine runs.
  const sparrow::format::PackedWeights packed = dense ? sparrow::format::pack_dense_int8(w.data(), s.n, s.k)
                                                      : sparrow::format::pack_sparse_int8(w.data(), s.n, s.k, rows);
  const sparrow::engine::LinearWeights lw = sparrow::engine::kernel_weights(packed.view(), "bench");
  p.row_sum = lw.row_sum.data();
  if (dense) {
    const sk::QGemmKernel& kernel = sk::qgemm_kernel();
    const std::vector<std::uint8_t> panels = random_panels(kernel.mr);
    std::vector<std::uint8_t> y_panels(sk::panels_bytes(m, s.n, kernel.mr));
    for (auto _ : st) {
      if (qu8_out) {
        sk::qu8_qu8_qc8w_gemm_panels(panels.data(), m, lw.dense, p, y_panels.data(), &tp);
      } else {
        sk::qu8_f32_qc8w_gemm(panels.data(), m, lw.dense, p, y.data(), s.n, &tp);
      }
      benchmark::ClobberMemory();
    }
    const double ops = 2.0 * static_cast<double>(m * s.n * s.k);
    set_counters(st, ops, ops, peak);
    st.SetLabel(kernel.name);
    return;
  }
  const sk::SpmmB4Kernel& kernel = sk::spmm_kernel(rows);
  const std::vector<std::uint8_t> panels = random_panels(kernel.mr);
  std::vector<std::uint8_t> y_panels(sk::panels_bytes(m, s.n, kernel.mr));
  for (auto _ : st) {
    if (qu8_out) {
      sk::qu8_qu8_qc8w_spmm_b4_panels(panels.data(), m, lw.sparse, p, y_panels.data(), &tp, kernel);
    } else {
      sk::qu8_f32_qc8w_spmm_b4(panels.data(), m, lw.sparse, p, y.data(), s.n, &tp, kernel);
    }
    benchmark::ClobberMemory();
  }
  const double md = static_cast<double>(m);
  set_counters(st, 2.0 * md * nonzero, 2.0 * md * 4.0 * static_cast<double>(packed.block_w.size()), peak);
  st.SetLabel(kernel.name);
}

// FP32 -> UINT8 quantize-and-pack of one layer's input (the step before the first INT8 linear of a block).
void run_quantize_pack(benchmark::State& st, std::size_t k, std::size_t m) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<float> real(-4.0f, 4.0f);
  std::vector<float> x(m * k);
  for (auto& v : x) v = real(rng);
  const std::size_t mr = sk::spmm_b4_kernel().mr;
  std::vector<std::uint8_t> panels(sk::panels_bytes(m, k, mr));
  for (auto _ : st) {
    sk::qu8_pack_panels_f32(x.data(), m, k, k, sparrow::quant::activation_params(-4.0f, 4.0f), mr, panels.data());
    benchmark::ClobberMemory();
  }
  st.counters["Gelem_per_s"] =
      benchmark::Counter(static_cast<double>(m * k) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  st.SetLabel(sk::quantize_pack_kernel().name);
}

// Multi-head attention of one BERT-base sequence (seq tokens, 12 heads of 64, no padding): FP32, and INT8 on
// UINT8 Q, K, V (docs/format.md "INT8 attention"). Useful work: Q K^T and P V, 2 x 2 x seq^2 x 768 operations,
// against the FP32 or the INT8 peak.
void run_attention(benchmark::State& st, bool int8, std::size_t seq, std::size_t threads) {
  constexpr std::size_t heads = 12, dim = 64, width = heads * dim;
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<float> real(-1.0f, 1.0f);
  std::uniform_int_distribution<int> byte(1, 255);
  std::vector<float> qf(seq * width), kf(seq * width), vf(seq * width), out(seq * width);
  std::vector<std::uint8_t> q(seq * width), k(seq * width), v(seq * width);
  for (std::size_t i = 0; i < seq * width; ++i) {
    qf[i] = real(rng), kf[i] = real(rng), vf[i] = real(rng);
    q[i] = static_cast<std::uint8_t>(byte(rng)), k[i] = static_cast<std::uint8_t>(byte(rng)), v[i] = static_cast<std::uint8_t>(byte(rng));
  }
  const float scale = 0.125f;
  const sk::AttentionQuant quant{{0.02f, 120}, 0.01f, 0.01f};
  std::unique_ptr<sk::ThreadPool> pool = threads > 1 ? std::make_unique<sk::ThreadPool>(threads) : nullptr;
  for (auto _ : st) {
    if (int8) {
      sk::attention_qu8(q.data(), k.data(), v.data(), width, 1, seq, heads, dim, nullptr, quant, scale, out.data(), width,
                        pool.get());
    } else {
      sk::attention_f32(qf.data(), kf.data(), vf.data(), width, 1, seq, heads, dim, nullptr, scale, out.data(), width,
                        pool.get());
    }
    benchmark::ClobberMemory();
  }
  const double ops = 4.0 * static_cast<double>(seq * seq * width);
  set_counters(st, ops, ops, (int8 ? g_peak.int8 : g_peak.fp32) * static_cast<double>(threads));
  st.SetLabel(int8 ? sk::qgemm_kernel().name : sk::f32_gemm_kernel().name);
}

void register_all() {
  const char* kind_names[] = {"spmm_b4", "spmm_unstructured", "qgemm_dense", "f32_gemm", "spmm_b4_qu8",
                              "qgemm_dense_qu8", "spmm_r2x4", "spmm_r4x4"};
  const auto add = [&](Shape s, std::size_t m, Kind kind, int sparsity_pct, std::size_t threads) {
    std::ostringstream name;
    name << kind_names[static_cast<int>(kind)] << "/K" << s.k << "xN" << s.n << "/M" << m << "/s" << sparsity_pct
         << "/t" << threads;
    auto* b = benchmark::RegisterBenchmark(name.str().c_str(), run, s, m, kind, sparsity_pct / 100.0, threads);
    b->Unit(benchmark::kMicrosecond);
    // One thread: the calling thread's CPU time, immune to preemption by other processes on this shared
    // machine. Two threads: wall time, the only honest measure of a parallel speed-up; the CPU column then
    // holds the CPU time of the whole process (both threads, spin-waits included).
    if (threads > 1) b->UseRealTime()->MeasureProcessCPUTime();
  };
  for (std::size_t m : {128, 1024}) {
    for (std::size_t k : {768, 3072}) {
      const std::string name = "quantize_pack/K" + std::to_string(k) + "/M" + std::to_string(m);
      benchmark::RegisterBenchmark(name.c_str(), run_quantize_pack, k, m)->Unit(benchmark::kMicrosecond);
    }
  }
  for (std::size_t threads : {1, 2}) {
    for (const bool int8 : {false, true}) {
      const std::string name = std::string(int8 ? "attention_qu8" : "attention_f32") + "/L128/H12xD64/t" + std::to_string(threads);
      auto* b = benchmark::RegisterBenchmark(name.c_str(), run_attention, int8, 128, threads)->Unit(benchmark::kMicrosecond);
      if (threads > 1) b->UseRealTime()->MeasureProcessCPUTime();
    }
  }
  for (std::size_t threads : {1, 2}) {
    for (std::size_t m : {128, 1024}) {
      for (const Shape& s : load_shapes()) {
        add(s, m, Kind::fp32, 0, threads);
        add(s, m, Kind::dense_int8, 0, threads);
        for (int pct : {0, 50, 70, 80, 90, 95, 97}) add(s, m, Kind::block4, pct, threads);
        add(s, m, Kind::unstructured, 90, threads);
        add(s, m, Kind::dense_int8_qu8, 0, threads);
        add(s, m, Kind::block4_qu8, 90, threads);
        for (int pct : {90, 95}) {
          add(s, m, Kind::r2x4, pct, threads);
          add(s, m, Kind::r4x4, pct, threads);
        }
      }
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  if (sk::mayiuse(sk::Isa::avx512vnni)) {
    g_peak.int8 = measure(sparrow::bench::peak_vpdpbusd_zmm);
    g_peak.int8_loop = "vpdpbusd zmm";
  } else if (sk::mayiuse(sk::Isa::avx2)) {
    g_peak.int8 = measure(sparrow::bench::peak_vpmaddubsw_ymm);
    g_peak.int8_loop = "vpmaddubsw+vpmaddwd+vpaddd ymm";
    benchmark::AddCustomContext("peak_vpmaddwd_ymm_GOPS", std::to_string(measure(sparrow::bench::peak_vpmaddwd_ymm) * 1e-9));
  }
  if (sk::mayiuse(sk::Isa::avx512skx)) {
    g_peak.fp32 = measure(sparrow::bench::peak_fma_zmm);
    g_peak.fp32_loop = "vfmadd zmm";
  } else if (sk::mayiuse(sk::Isa::avx2)) {
    g_peak.fp32 = measure(sparrow::bench::peak_fma_ymm);
    g_peak.fp32_loop = "vfmadd ymm";
  }
  if (g_peak.int8 == 0 || g_peak.fp32 == 0) {
    std::fprintf(stderr, "bench_kernels: needs at least AVX2 (max ISA here: %s)\n", sk::isa_name(sk::max_isa()));
    return 2;
  }
  benchmark::AddCustomContext("max_isa", sk::isa_name(sk::max_isa()));
  const std::string load_at_start = loadavg();
  benchmark::AddCustomContext("loadavg_at_start", load_at_start);
  benchmark::AddCustomContext("peak_int8_loop", g_peak.int8_loop);
  benchmark::AddCustomContext("peak_int8_GOPS", std::to_string(g_peak.int8 * 1e-9));
  benchmark::AddCustomContext("peak_fp32_loop", g_peak.fp32_loop);
  benchmark::AddCustomContext("peak_fp32_GFLOPS", std::to_string(g_peak.fp32 * 1e-9));
  benchmark::AddCustomContext("spmm_b4_kernel", sk::spmm_b4_kernel().name);
  benchmark::AddCustomContext("spmm_r2x4_kernel", sk::spmm_kernel(2).name);
  benchmark::AddCustomContext("spmm_r4x4_kernel", sk::spmm_kernel(4).name);
  benchmark::AddCustomContext("qgemm_kernel", sk::qgemm_kernel().name);
  benchmark::AddCustomContext("f32_gemm_kernel", sk::f32_gemm_kernel().name);
  register_all();
  benchmark::RunSpecifiedBenchmarks();
  std::fprintf(stderr, "bench_kernels: load average (1 and 5 min) at start %s, at end %s\n", load_at_start.c_str(),
               loadavg().c_str());
  benchmark::Shutdown();
  return 0;
}
