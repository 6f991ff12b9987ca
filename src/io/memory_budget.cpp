// How much memory this process may use: the cgroup v2 limit when one is set, else the kernel's
// estimate of available memory. Streaming chunk sizes follow it.
#include <algorithm>
#include <cstdint>
#include <fstream>
#include <string>

#include "evlib/scan.hpp"

namespace evlib {

namespace {

std::uint64_t cgroup_limit() {
  // The process's cgroup (v2: one line "0::/path").
  std::ifstream cg("/proc/self/cgroup");
  std::string line, path;
  while (std::getline(cg, line)) {
    if (line.rfind("0::", 0) == 0) path = line.substr(3);
  }
  if (path.empty()) return 0;
  std::ifstream max_file("/sys/fs/cgroup" + path + "/memory.max");
  std::string value;
  if (!(max_file >> value) || value == "max") return 0;
  const std::uint64_t limit = std::stoull(value);
  std::ifstream current_file("/sys/fs/cgroup" + path + "/memory.current");
  std::uint64_t current = 0;
  current_file >> current;
  return limit > current ? limit - current : 0;
}

std::uint64_t mem_available() {
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  std::uint64_t kib = 0;
  std::string unit;
  while (meminfo >> key >> kib >> unit) {
    if (key == "MemAvailable:") return kib * 1024;
  }
  return 0;
}

}  // namespace

std::uint64_t available_memory() {
  const std::uint64_t cg = cgroup_limit();
  const std::uint64_t avail = mem_available();
  if (cg == 0) return avail;
  return avail == 0 ? cg : std::min(cg, avail);
}

std::size_t default_chunk_events() {
  // 1/1024 of what is available, 13 bytes an event, between 64 Ki events (0.8 MiB) and 2 Mi
  // events (26 MiB): streaming then stays well under 64 MiB of resident memory by default.
  constexpr std::size_t kFloor = std::size_t{1} << 16, kCeiling = std::size_t{1} << 21;
  const std::uint64_t avail = available_memory();
  if (avail == 0) return std::size_t{1} << 20;
  return std::clamp<std::size_t>(static_cast<std::size_t>(avail / 1024 / 13), kFloor, kCeiling);
}

}  // namespace evlib
