#include "compress/distributed/launch.h"

#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <spdlog/spdlog.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <thread>

#include "core/errors.h"
#include "core/interrupt.h"

extern char** environ;

namespace sparrow::compress::distributed {

namespace {

// Set by run_local_ranks for its ranks: the pid they follow (follow_launcher).
constexpr const char* kLauncherPid = "SPARROW_LAUNCHER_PID";

using namespace std::chrono_literals;

std::optional<std::string> env(const char* name) {
  const char* v = std::getenv(name);
  return v && *v ? std::optional<std::string>(v) : std::nullopt;
}

int64_t env_int(const char* name, int64_t lo, int64_t hi) {
  const auto v = env(name);
  if (!v) throw BadInput(std::string(name) + " is not set; a distributed launch needs MASTER_ADDR, MASTER_PORT, WORLD_SIZE and RANK");
  char* end = nullptr;
  errno = 0;
  const long long x = std::strtoll(v->c_str(), &end, 10);
  if (errno || *end || x < lo || x > hi)
    throw BadInput(std::string(name) + "=" + *v + ": expected an integer in [" + std::to_string(lo) + ", " +
                   std::to_string(hi) + "]");
  return x;
}

std::string describe(int rank, int status) {
  if (WIFSIGNALED(status))
    return "rank " + std::to_string(rank) + " was killed by signal " + std::to_string(WTERMSIG(status)) + " (" +
           ::strsignal(WTERMSIG(status)) + ")";
  return "rank " + std::to_string(rank) + " exited with code " + std::to_string(WEXITSTATUS(status));
}

}  // namespace

std::optional<LaunchEnv> launch_env_from_environment() {
  if (!env("WORLD_SIZE")) return std::nullopt;
  LaunchEnv e;
  e.world_size = static_cast<int>(env_int("WORLD_SIZE", 1, 65536));
  e.rank = static_cast<int>(env_int("RANK", 0, e.world_size - 1));
  e.local_rank = env("LOCAL_RANK") ? static_cast<int>(env_int("LOCAL_RANK", 0, 65535)) : e.rank;
  const auto addr = env("MASTER_ADDR");
  if (!addr) throw BadInput("MASTER_ADDR is not set; a distributed launch needs MASTER_ADDR, MASTER_PORT, WORLD_SIZE and RANK");
  e.master_addr = *addr;
  e.master_port = static_cast<uint16_t>(env_int("MASTER_PORT", 1, 65535));
  e.agent_store = env("TORCHELASTIC_USE_AGENT_STORE").value_or("") == "True";
  return e;
}

std::vector<std::string> own_arguments() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  const std::string all{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  std::vector<std::string> args;
  for (size_t begin = 0; begin < all.size();) {
    const size_t end = all.find('\0', begin);
    args.push_back(all.substr(begin, end == std::string::npos ? std::string::npos : end - begin));
    begin = end == std::string::npos ? all.size() : end + 1;
  }
  if (!args.empty()) args.erase(args.begin());
  return args;
}

int run_local_ranks(int nproc, const std::vector<std::string>& args, std::chrono::milliseconds timeout,
                    int threads_per_rank) {
  const uint16_t port = free_loopback_port();
  std::map<std::string, std::string> vars;
  for (char** e = environ; *e; ++e) {
    const std::string kv = *e;
    const size_t eq = kv.find('=');
    vars[kv.substr(0, eq)] = eq == std::string::npos ? "" : kv.substr(eq + 1);
  }
  vars["MASTER_ADDR"] = "127.0.0.1";
  vars["MASTER_PORT"] = std::to_string(port);
  vars["WORLD_SIZE"] = std::to_string(nproc);
  vars["SPARROW_DIST_TIMEOUT"] = std::to_string(static_cast<double>(timeout.count()) / 1000.0);
  vars[kLauncherPid] = std::to_string(::getpid());
  if (!vars.count("SPARROW_THREADS")) vars["SPARROW_THREADS"] = std::to_string(threads_per_rank);

  // A signal to the launcher (Ctrl-C, kill PID, a scheduler's SIGTERM) reaches the ranks once, through it: each
  // rank has its own process group, since a second signal would stop a rank at once, without its clean-up.
  catch_interrupts();
  posix_spawnattr_t attr;
  ::posix_spawnattr_init(&attr);
  ::posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  ::posix_spawnattr_setpgroup(&attr, 0);
  const std::string exe = "/proc/self/exe";
  std::vector<pid_t> pids;
  for (int r = 0; r < nproc; ++r) {
    vars["RANK"] = vars["LOCAL_RANK"] = std::to_string(r);
    std::vector<std::string> env_strings, argv_strings{"compress"};
    for (const auto& [k, v] : vars) env_strings.push_back(k + "=" + v);
    argv_strings.insert(argv_strings.end(), args.begin(), args.end());
    std::vector<char*> envp, argv;
    for (auto& s : env_strings) envp.push_back(s.data());
    for (auto& s : argv_strings) argv.push_back(s.data());
    envp.push_back(nullptr);
    argv.push_back(nullptr);
    pid_t pid = 0;
    if (const int err = ::posix_spawn(&pid, exe.c_str(), nullptr, &attr, argv.data(), envp.data()); err != 0) {
      ::posix_spawnattr_destroy(&attr);
      for (pid_t p : pids) ::kill(p, SIGKILL);
      for (pid_t p : pids) ::waitpid(p, nullptr, 0);
      throw InternalError("cannot start rank " + std::to_string(r) + ": " + std::strerror(err));
    }
    pids.push_back(pid);
  }
  ::posix_spawnattr_destroy(&attr);
  spdlog::info("started {} ranks on 127.0.0.1:{} (collective timeout {:g} s)", nproc, port,
               static_cast<double>(timeout.count()) / 1000.0);

  // The ranks notice a failed peer themselves; the launcher only reaps them,
  // and kills those still running a grace period after the timeout.
  int result = 0, running = nproc;
  auto kill_at = std::chrono::steady_clock::time_point::max();  // set once a rank failed
  bool forwarded = false;
  while (running > 0) {
    if (const int sig = interrupt_signal(); sig != 0 && !forwarded) {
      for (pid_t p : pids)
        if (p > 0) ::kill(p, sig);
      forwarded = true;
    }
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid > 0) {
      const auto it = std::find(pids.begin(), pids.end(), pid);
      if (it == pids.end()) continue;
      const int r = static_cast<int>(it - pids.begin());
      *it = -1;
      --running;
      const bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
      if (!ok && result == 0) {
        result = WIFEXITED(status) ? WEXITSTATUS(status) : static_cast<int>(ErrorKind::Internal);
        kill_at = std::chrono::steady_clock::now() + timeout + 10s;
        if (WIFSIGNALED(status)) spdlog::error("{}", describe(r, status));
      }
      continue;
    }
    if (std::chrono::steady_clock::now() > kill_at) {
      for (size_t r = 0; r < pids.size(); ++r)
        if (pids[r] > 0) {
          spdlog::error("rank {} did not exit after a peer failed; killing it", r);
          ::kill(pids[r], SIGKILL);
        }
      kill_at = std::chrono::steady_clock::time_point::max();
    }
    std::this_thread::sleep_for(50ms);
  }
  throw_if_interrupted("while the ranks trained");
  return result;
}

void follow_launcher() {
  const char* launcher = std::getenv(kLauncherPid);
  if (!launcher) return;
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  // The launcher may have died before prctl: this process then has another parent already.
  if (std::to_string(::getppid()) != launcher) ::raise(SIGKILL);
}

uint16_t free_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    if (fd >= 0) ::close(fd);
    throw InternalError(std::string("cannot find a free loopback port: ") + std::strerror(errno));
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

}  // namespace sparrow::compress::distributed
