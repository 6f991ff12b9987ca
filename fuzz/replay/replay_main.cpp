// Replays fuzz corpora without libFuzzer: `fuzz_replay TARGET PATH...` runs TARGET's
// LLVMFuzzerTestOneInput once on every file given, and on every file of every directory given
// (sorted by name, so that runs are repeatable). Exits 0 after the last input; an oracle failure
// or a sanitizer report ends the process before that. Replaying nothing is a failure too, so
// that a wrong path cannot pass for a clean corpus.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

namespace evlib_replay {
struct Target {
  std::string_view name;
  int (*run)(const std::uint8_t* data, std::size_t size);
};
}  // namespace evlib_replay

#include "replay_targets.inc"

namespace {

namespace fs = std::filesystem;

const evlib_replay::Target* find_target(std::string_view name) {
  for (const auto& target : evlib_replay::kTargets) {
    if (target.name == name) return &target;
  }
  return nullptr;
}

// The files named, with directories replaced by their regular files in name order.
std::vector<fs::path> inputs_of(int argc, char** argv) {
  std::vector<fs::path> inputs;
  for (int i = 2; i < argc; ++i) {
    const fs::path path = argv[i];
    if (!fs::is_directory(path)) {
      inputs.push_back(path);
      continue;
    }
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(path)) {
      if (entry.is_regular_file()) files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end());
    inputs.insert(inputs.end(), files.begin(), files.end());
  }
  return inputs;
}

bool read_whole(const fs::path& path, std::vector<std::uint8_t>& bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return !in.bad();
}

}  // namespace

int main(int argc, char** argv) {
  const evlib_replay::Target* target = argc >= 3 ? find_target(argv[1]) : nullptr;
  if (target == nullptr) {
    std::fprintf(stderr, "usage: %s TARGET FILE_OR_DIRECTORY...   (TARGET: ", argv[0]);
    for (const auto& t : evlib_replay::kTargets) std::fprintf(stderr, " %.*s", static_cast<int>(t.name.size()), t.name.data());
    std::fprintf(stderr, ")\n");
    return 2;
  }
  const std::vector<fs::path> inputs = inputs_of(argc, argv);
  if (inputs.empty()) {
    std::fprintf(stderr, "%s: no input to replay\n", argv[1]);
    return 1;
  }
  std::vector<std::uint8_t> bytes;
  for (const fs::path& input : inputs) {
    if (!read_whole(input, bytes)) {
      std::fprintf(stderr, "%s: cannot read\n", input.c_str());
      return 1;
    }
    // Named before it runs: a crash leaves this line as the last one of the output.
    std::printf("replaying %s (%zu bytes)\n", input.c_str(), bytes.size());
    std::fflush(stdout);
    target->run(bytes.data(), bytes.size());
  }
  std::printf("%s: %zu inputs replayed\n", argv[1], inputs.size());
  return 0;
}
