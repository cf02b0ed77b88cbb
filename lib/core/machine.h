#pragma once
// The machine a run measured on, for reports: speed figures mean little without it.
#include <nlohmann/json.hpp>

namespace sparrow {

// {"cpu": model name, "cpu_family": int, "cpu_model": int, "cpus": logical CPUs online, "os": "Linux 6.1…"}
// from /proc/cpuinfo and uname; a field that cannot be read is null.
nlohmann::json machine_json();

}  // namespace sparrow
