#include "compress/distributed/process_group.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <future>
#include <mutex>
#include <thread>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

namespace sparrow::compress::distributed {

namespace {

using namespace std::chrono_literals;
using Store = c10::intrusive_ptr<c10d::TCPStore>;

Session::Impl* g_session = nullptr;

std::string key(const std::string& what, int rank) { return "sparrow/" + what + "/" + std::to_string(rank); }
std::vector<uint8_t> to_bytes(const std::string& s) { return {s.begin(), s.end()}; }
std::string to_string(const std::vector<uint8_t>& b) { return {b.begin(), b.end()}; }

// The first line of an error, without c10's source location and backtrace.
std::string first_line(const std::exception& e) {
  const auto* c10_error = dynamic_cast<const c10::Error*>(&e);
  std::string s = c10_error ? c10_error->msg() : e.what();
  return s.substr(0, s.find('\n'));
}

std::string rank_name(const std::vector<std::string>& names, int r) {
  const auto i = static_cast<size_t>(r);
  return i < names.size() && !names[i].empty() ? "rank " + std::to_string(r) + " (" + names[i] + ")"
                                               : "rank " + std::to_string(r);
}

std::string seconds(std::chrono::milliseconds t) { return fmt::format("{:g} s", static_cast<double>(t.count()) / 1000.0); }

Store connect_store(const LaunchEnv& env, bool server, std::chrono::milliseconds timeout) {
  c10d::TCPStoreOptions o;
  o.port = env.master_port;
  o.isServer = server;
  o.numWorkers = env.world_size;
  o.waitWorkers = false;  // joining is checked below, naming the ranks that are missing
  o.timeout = timeout;
  return c10::make_intrusive<c10d::TCPStore>(env.master_addr, o);
}

// The local address on the route to MASTER_ADDR: what the other ranks can
// reach this one at (the hostname may resolve to 127.0.1.1 on Debian).
std::string local_address_towards(const std::string& master_addr, uint16_t port) {
  addrinfo hints{}, *found = nullptr;
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_DGRAM;
  if (::getaddrinfo(master_addr.c_str(), std::to_string(port).c_str(), &hints, &found) != 0 || !found) return {};
  sockaddr_in dst{};
  std::memcpy(&dst, found->ai_addr, sizeof(dst));
  ::freeaddrinfo(found);
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) return {};
  std::string out;
  sockaddr_in self{};
  socklen_t len = sizeof(self);
  char buf[INET_ADDRSTRLEN] = {};
  // A UDP connect sends nothing; it only selects the route.
  if (::connect(fd, reinterpret_cast<sockaddr*>(&dst), sizeof(dst)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&self), &len) == 0 &&
      ::inet_ntop(AF_INET, &self.sin_addr, buf, sizeof(buf)))
    out = buf;
  ::close(fd);
  return out;
}

std::shared_ptr<::gloo::transport::Device> make_device(const LaunchEnv& env) {
  if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME"); ifname && *ifname)
    return c10d::ProcessGroupGloo::createDeviceForInterface(ifname);
  const std::string addr = local_address_towards(env.master_addr, env.master_port);
  return addr.empty() ? c10d::ProcessGroupGloo::createDefaultDevice()
                      : c10d::ProcessGroupGloo::createDeviceForHostname(addr);
}

// Each rank bumps a counter in the store every interval, so that after a
// failed collective the survivors can tell which ranks stopped. The thread is
// detached: a hung store host must not block this process's exit.
struct Heartbeat {
  std::mutex mutex;
  std::condition_variable cv;
  bool stop = false;
};

void start_heartbeat(const LaunchEnv& env, std::chrono::milliseconds interval, std::chrono::milliseconds timeout,
                     const std::shared_ptr<Heartbeat>& hb) {
  Store store = connect_store(env, false, timeout);
  std::thread([store, hb, interval, k = key("heartbeat", env.rank)] {
    try {
      std::unique_lock lock(hb->mutex);
      while (!hb->stop) {
        lock.unlock();
        store->add(k, 1);
        lock.lock();
        hb->cv.wait_for(lock, interval, [&] { return hb->stop; });
      }
    } catch (const std::exception&) {
      // The store host is gone; the next collective reports it.
    }
  }).detach();
}

uint64_t hash_bytes(const torch::Tensor& t) {
  const torch::Tensor c = t.contiguous().cpu();
  const auto* p = static_cast<const unsigned char*>(c.data_ptr());
  const size_t n = c.numel() * c.element_size();
  uint64_t h = 1469598103934665603ull;  // FNV-1a over 8-byte words, then the tail
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    h = (h ^ w) * 1099511628211ull;
  }
  for (; i < n; ++i) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

}  // namespace

struct Session::Impl {
  LaunchEnv env;
  Options options;
  std::chrono::milliseconds heartbeat_interval;
  Store store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> pg;
  std::shared_ptr<Heartbeat> heartbeat = std::make_shared<Heartbeat>();
  std::vector<std::string> names;  // "host pid" of each rank

  std::string name(int r) const { return rank_name(names, r); }

  // Which ranks caused a failed collective: those that reported an error,
  // else those whose heartbeat stopped. Runs on its own thread with a
  // deadline, since a hung store host would block every store call.
  std::string diagnose() {
    auto result = std::make_shared<std::promise<std::string>>();
    auto answer = result->get_future();
    std::thread([result, store = store, env = env, names = names, interval = heartbeat_interval] {
      std::string out;
      try {
        for (int r = 0; r < env.world_size; ++r)
          if (r != env.rank && store->check({key("error", r)}))
            out += (out.empty() ? "" : "; ") + rank_name(names, r) + " failed: " + to_string(store->get(key("error", r)));
        if (out.empty()) {
          std::vector<int64_t> before(static_cast<size_t>(env.world_size));
          for (int r = 0; r < env.world_size; ++r) before[static_cast<size_t>(r)] = store->add(key("heartbeat", r), 0);
          std::this_thread::sleep_for(interval * 3);
          for (int r = 0; r < env.world_size; ++r)
            if (r != env.rank && store->add(key("heartbeat", r), 0) == before[static_cast<size_t>(r)])
              out += (out.empty() ? "" : "; ") + rank_name(names, r) + " stopped responding (it died or hangs)";
        }
      } catch (const std::exception&) {
        out = rank_name(names, 0) + ", which hosts the rendezvous store, does not answer (it died or hangs)";
      }
      result->set_value(out.empty() ? "a peer rank failed" : out);
    }).detach();
    if (answer.wait_for(heartbeat_interval * 5 + 2s) == std::future_status::ready) return answer.get();
    return name(0) + ", which hosts the rendezvous store, does not answer (it died or hangs)";
  }

  [[noreturn]] void fail(const std::string& during, const std::exception& e) {
    const std::string cause = diagnose();
    throw PeerFailure(fmt::format("distributed training stopped on rank {} during {}: {} [gloo: {}]", env.rank,
                                  during, cause, first_line(e)));
  }

  void wait(const c10::intrusive_ptr<c10d::Work>& work, const std::string& during) {
    try {
      work->wait();
    } catch (const std::exception& e) {
      fail(during, e);
    }
  }

  template <typename Op>
  void run(const std::string& during, Op&& op) {
    c10::intrusive_ptr<c10d::Work> work;
    try {
      work = op();
    } catch (const std::exception& e) {
      fail(during, e);
    }
    wait(work, during);
  }

  void join() {
    const std::string where = env.master_addr + ":" + std::to_string(env.master_port);
    try {
      store = connect_store(env, env.rank == 0 && !env.agent_store, options.timeout);
    } catch (const std::exception& e) {
      throw PeerFailure(env.rank == 0 ? fmt::format("rank 0 cannot host the rendezvous store at {}: {}", where, first_line(e))
                                      : fmt::format("rank {} cannot reach the rendezvous store of rank 0 at {} within {}: {}",
                                                    env.rank, where, seconds(options.timeout), first_line(e)));
    }
    char host[256] = {};
    ::gethostname(host, sizeof(host) - 1);
    if (store->add(key("joined", env.rank), 1) != 1)
      throw BadInput(fmt::format("two processes were started as RANK {} of the job at {}", env.rank, where));
    store->set(key("name", env.rank), to_bytes(fmt::format("{} pid {}", host, ::getpid())));
    store->set(key("world_size", env.rank), to_bytes(std::to_string(env.world_size)));

    std::vector<std::string> keys;
    for (int r = 0; r < env.world_size; ++r) keys.push_back(key("name", r));
    const auto deadline = std::chrono::steady_clock::now() + options.timeout;
    while (!store->check(keys)) {
      if (std::chrono::steady_clock::now() > deadline) {
        std::string missing;
        for (int r = 0; r < env.world_size; ++r)
          if (!store->check({keys[static_cast<size_t>(r)]})) missing += (missing.empty() ? "" : ", ") + std::to_string(r);
        throw PeerFailure(fmt::format("rank(s) {} did not join the job at {} within {} (WORLD_SIZE={})", missing, where,
                                      seconds(options.timeout), env.world_size));
      }
      std::this_thread::sleep_for(20ms);
    }
    for (int r = 0; r < env.world_size; ++r) {
      names.push_back(to_string(store->get(key("name", r))));
      if (to_string(store->get(key("world_size", r))) != std::to_string(env.world_size))
        throw BadInput(fmt::format("{} was started with another WORLD_SIZE than {}", name(r), env.world_size));
    }

    start_heartbeat(env, heartbeat_interval, options.timeout, heartbeat);
    auto opts = c10d::ProcessGroupGloo::Options::create(options.timeout);
    try {
      opts->devices.push_back(make_device(env));
      pg = c10::make_intrusive<c10d::ProcessGroupGloo>(c10::make_intrusive<c10d::PrefixStore>("gloo", store), env.rank,
                                                       env.world_size, opts);
    } catch (const std::exception& e) {
      fail("connecting the ranks", e);
    }
  }
};

Session::Session(const LaunchEnv& env, const Options& options) : impl_(std::make_unique<Impl>()) {
  if (g_session) throw InternalError("a distributed session is already open");
  impl_->env = env;
  impl_->options = options;
  impl_->heartbeat_interval = std::clamp<std::chrono::milliseconds>(options.timeout / 10, 100ms, 2000ms);
  impl_->join();
  g_session = impl_.get();
  spdlog::debug("rank {} of {} joined the job at {}:{}", env.rank, env.world_size, env.master_addr, env.master_port);
}

Session::~Session() {
  g_session = nullptr;
  {
    std::lock_guard lock(impl_->heartbeat->mutex);
    impl_->heartbeat->stop = true;
  }
  impl_->heartbeat->cv.notify_all();
}

bool active() { return g_session != nullptr; }
int rank() { return g_session ? g_session->env.rank : 0; }
int world_size() { return g_session ? g_session->env.world_size : 1; }

void broadcast_parameters(torch::nn::Module& module) {
  if (!g_session) return;
  std::vector<torch::Tensor> tensors;
  for (const auto& p : module.parameters()) tensors.push_back(p.detach());
  for (const auto& b : module.buffers()) tensors.push_back(b.detach());
  for (auto& t : tensors) {
    std::vector<torch::Tensor> one{t};
    g_session->run("the broadcast of the parameters", [&] { return g_session->pg->broadcast(one); });
  }
}

void all_reduce_gradients(torch::nn::Module& module, double weight) {
  if (!g_session) return;
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> grads;
  for (auto& p : module.parameters()) {
    if (!p.requires_grad()) continue;
    // Every rank must contribute the same layout, even if this one computed no gradient.
    if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
    grads.push_back(p.grad());
  }
  // Buckets of consecutive gradients; all are in flight before the first wait.
  struct Bucket {
    size_t first, last;
    torch::Tensor flat;
    c10::intrusive_ptr<c10d::Work> work;
  };
  std::vector<Bucket> buckets;
  for (size_t i = 0; i < grads.size();) {
    size_t j = i, bytes = 0;
    while (j < grads.size() && (j == i || bytes + grads[j].nbytes() <= g_session->options.bucket_bytes))
      bytes += grads[j++].nbytes();
    std::vector<torch::Tensor> parts;
    for (size_t k = i; k < j; ++k) parts.push_back(grads[k].reshape(-1));
    buckets.push_back({i, j, torch::cat(parts).mul_(weight), {}});
    i = j;
  }
  for (auto& b : buckets) {
    std::vector<torch::Tensor> one{b.flat};
    try {
      b.work = g_session->pg->allreduce(one);
    } catch (const std::exception& e) {
      g_session->fail("the gradient all-reduce", e);
    }
  }
  for (auto& b : buckets) {
    g_session->wait(b.work, "the gradient all-reduce");
    int64_t offset = 0;
    for (size_t k = b.first; k < b.last; ++k) {
      const int64_t n = grads[k].numel();
      grads[k].copy_(b.flat.slice(0, offset, offset + n).view_as(grads[k]));
      offset += n;
    }
  }
}

std::vector<double> all_reduce_sum(std::vector<double> values) {
  if (!g_session || values.empty()) return values;
  std::vector<torch::Tensor> t{torch::tensor(values, torch::kFloat64)};
  g_session->run("an all-reduce", [&] { return g_session->pg->allreduce(t); });
  const auto* p = t[0].data_ptr<double>();
  return {p, p + values.size()};
}

void all_reduce_min_max(float& lo, float& hi) {
  if (!g_session) return;
  // One MIN reduction: min(lo) and min(-hi) = -max(hi).
  std::vector<torch::Tensor> t{torch::tensor({lo, -hi}, torch::kFloat32)};
  c10d::AllreduceOptions opts;
  opts.reduceOp = c10d::ReduceOp::MIN;
  g_session->run("the observer all-reduce", [&] { return g_session->pg->allreduce(t, opts); });
  lo = t[0][0].item<float>();
  hi = -t[0][1].item<float>();
}

namespace {

// Each value's minimum and maximum over the ranks.
std::pair<torch::Tensor, torch::Tensor> min_max(const torch::Tensor& values, const std::string& during) {
  std::vector<torch::Tensor> lo{values.clone()}, hi{values.clone()};
  c10d::AllreduceOptions min_opts, max_opts;
  min_opts.reduceOp = c10d::ReduceOp::MIN;
  max_opts.reduceOp = c10d::ReduceOp::MAX;
  g_session->run(during, [&] { return g_session->pg->allreduce(lo, min_opts); });
  g_session->run(during, [&] { return g_session->pg->allreduce(hi, max_opts); });
  return {lo[0], hi[0]};
}

}  // namespace

void check_agreement(const std::string& what, const std::vector<std::pair<std::string, torch::Tensor>>& tensors) {
  if (!g_session || tensors.empty()) return;
  std::vector<int64_t> hashes;
  for (const auto& [name, t] : tensors) hashes.push_back(static_cast<int64_t>(hash_bytes(t)));
  const auto [lo, hi] = min_max(torch::tensor(hashes, torch::kInt64), "the check that " + what + " agree");
  std::string differ;
  for (size_t i = 0; i < tensors.size(); ++i)
    if (lo[static_cast<int64_t>(i)].item<int64_t>() != hi[static_cast<int64_t>(i)].item<int64_t>())
      differ += (differ.empty() ? "" : ", ") + tensors[i].first;
  if (!differ.empty()) throw InternalError(what + " differ between ranks: " + differ);
}

void require_same(const std::string& what, int64_t value) {
  if (!g_session) return;
  const auto [lo, hi] = min_max(torch::tensor({value}, torch::kInt64), "the check of " + what);
  if (lo.item<int64_t>() != hi.item<int64_t>())
    throw BadInput(fmt::format("{} differs between ranks (rank {} has {}, another {})", what, rank(), value,
                               lo.item<int64_t>() == value ? hi.item<int64_t>() : lo.item<int64_t>()));
}

void report_failure(const std::string& message) {
  if (!g_session) return;
  try {
    g_session->store->set(key("error", g_session->env.rank), to_bytes(message.substr(0, 2000)));
  } catch (const std::exception&) {
    // The store host is gone too; the others will see the lost connection.
  }
}

}  // namespace sparrow::compress::distributed
