#include "core/machine.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <fstream>
#include <string>

namespace sparrow {

namespace {

// The value of the first "key : value" line of /proc/cpuinfo with this key.
std::string cpuinfo_field(const std::string& key) {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    name.erase(name.find_last_not_of(" \t") + 1);
    if (name != key) continue;
    const auto start = line.find_first_not_of(" \t", colon + 1);
    return start == std::string::npos ? "" : line.substr(start);
  }
  return "";
}

nlohmann::json number_or_null(const std::string& text) {
  try {
    return text.empty() ? nlohmann::json(nullptr) : nlohmann::json(std::stoi(text));
  } catch (const std::exception&) {
    return nullptr;
  }
}

}  // namespace

nlohmann::json machine_json() {
  const std::string cpu = cpuinfo_field("model name");
  const long cpus = ::sysconf(_SC_NPROCESSORS_ONLN);
  utsname u{};
  const bool named = ::uname(&u) == 0;
  return {{"cpu", cpu.empty() ? nlohmann::json(nullptr) : nlohmann::json(cpu)},
          {"cpu_family", number_or_null(cpuinfo_field("cpu family"))},
          {"cpu_model", number_or_null(cpuinfo_field("model"))},
          {"cpus", cpus > 0 ? nlohmann::json(cpus) : nlohmann::json(nullptr)},
          {"os", named ? nlohmann::json(std::string(u.sysname) + " " + u.release) : nlohmann::json(nullptr)}};
}

}  // namespace sparrow
