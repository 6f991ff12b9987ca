// The streaming engine from the shell: time windows, regions, polarity, threads, budgets. The
// tests that read recordings run on synthetic stand-ins and on the real ones (CliScanFiles).
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>
#include <sstream>

#include "evlib/digest.hpp"
#include "evlib/reader.hpp"
#include "evlib/scan.hpp"
#include "support/test_support.hpp"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)  // clang's spelling of __SANITIZE_ADDRESS__
#define EVLIB_TEST_ASAN 1
#endif
#endif

namespace evlib {
namespace {

std::string cli() { return EVLIB_CLI; }

std::uint64_t json_number(const std::string& json, const std::string& key) {
  const std::regex re("\"" + key + "\": (-?[0-9]+)");
  std::smatch m;
  if (!std::regex_search(json, m, re)) return ~std::uint64_t{0};
  return std::stoull(m[1]);
}

const std::string kEvt3 = "evt3/evt3_test_pedestrians.raw";
const std::string kEvt2 = "evt2/evt2_sample.raw";

class CliScanFiles : public test::RecordingsTest {
 protected:
  CliScanFiles() : RecordingsTest({kEvt3, kEvt2}) {}
};
EVLIB_INSTANTIATE_ON_RECORDINGS(CliScanFiles);

TEST_P(CliScanFiles, second_windowed_call_uses_the_index_instead_of_decoding_everything) {
  test::ScopedTempDir dir;
  const std::string path = dir.file("rec.raw");
  std::filesystem::copy_file(recording(kEvt2), path);
  const std::string cmd = "XDG_CACHE_HOME=" + dir.file("cache") + " " + cli() +
                          " info --json -q --chunk 4096 --from 1.33s --to 1.331s " + path;
  std::string first, second;
  ASSERT_EQ(test::run_command(cmd, &first), 0);
  ASSERT_EQ(test::run_command(cmd, &second), 0);
  EXPECT_EQ(test::list_dir(dir.file("cache/evlib")).size(), 1u);  // the index, in the cache dir
  EXPECT_FALSE(test::file_exists(path + ".evlib-index"));           // nothing beside the recording
  EXPECT_EQ(json_number(first, "events"), json_number(second, "events"));
  EXPECT_GT(json_number(first, "events"), 0u);
  // First call: the whole file (building the index). Second: a few segments around the window.
  EXPECT_GT(json_number(first, "words"), 500'000u);
  EXPECT_LT(json_number(second, "words"), json_number(first, "words") / 20);
  // And the events are exactly those of the window.
  Recording all = read(path);
  EventFilter f;
  f.t0 = 1'330'000;
  f.t1 = 1'331'000;
  f.apply(all.events);
  EXPECT_EQ(json_number(second, "events"), all.events.size());
}

TEST_P(CliScanFiles, dump_window_region_and_polarity_match_the_library) {
  const std::string path = recording(kEvt3);
  std::string out;
  ASSERT_EQ(test::run_command(cli() + " dump -q --no-index --from 5850000us --to 5.87s --roi 100,100,900,600 --polarity 1 " + path,
                              &out),
            0);
  Recording all = read(path);
  EventFilter f;
  f.t0 = 5'850'000, f.t1 = 5'870'000, f.x0 = 100, f.y0 = 100, f.x1 = 900, f.y1 = 600, f.polarities = 2;
  f.apply(all.events);
  std::istringstream lines(out);
  std::string line;
  std::size_t n = 0;
  std::getline(lines, line);  // header
  while (std::getline(lines, line)) {
    long long t;
    unsigned x, y, p;
    ASSERT_EQ(std::sscanf(line.c_str(), "%lld %u %u %u", &t, &x, &y, &p), 4) << line;
    ASSERT_LT(n, all.events.size());
    EXPECT_EQ(t, all.events.t()[n]);
    EXPECT_EQ(x, all.events.x()[n]);
    EXPECT_EQ(p, 1u);
    ++n;
  }
  EXPECT_EQ(n, all.events.size());
  EXPECT_GT(n, 0u);
}

TEST_P(CliScanFiles, bad_time_and_region_arguments_are_clear_errors) {
  const std::string path = recording(kEvt3);
  std::string out, err;
  EXPECT_NE(test::run_command(cli() + " dump --from 12parsecs " + path, &out, &err), 0);
  EXPECT_NE(err.find("time unit"), std::string::npos) << err;
  EXPECT_NE(test::run_command(cli() + " dump --roi 1,2,3 " + path, &out, &err), 0);
  EXPECT_NE(err.find("--roi"), std::string::npos) << err;
}

std::string digest_of(const std::string& json) {
  const std::regex re("\"digest\": \"([0-9a-f]{64})\"");
  std::smatch m;
  return std::regex_search(json, m, re) ? m[1].str() : std::string("no digest in: ") + json;
}

TEST(CliScan, info_by_default_streams_on_all_cores_within_64_mib_and_matches_one_thread) {
  test::ScopedTempDir dir;
  const std::string path = dir.file("big.raw");
  std::string err;
  ASSERT_EQ(test::run_command(cli() + " generate -q --to evt3 --events 12000000 " + path, nullptr, &err), 0) << err;
  const std::string info = cli() + " info --json --digest -q --no-index ";
  std::string by_default, one_thread;
  ASSERT_EQ(test::run_command("/usr/bin/time -o " + dir.file("time") + " -f '%M' " + info + path, &by_default), 0);
  ASSERT_EQ(test::run_command(info + "--threads 1 " + path, &one_thread), 0);
  EXPECT_EQ(digest_of(by_default), digest_of(one_thread));
  EXPECT_EQ(json_number(by_default, "events"), 12'000'000u);
  const auto time_file = test::read_file(dir.file("time"));
  const long peak_kib = std::stol(std::string(time_file.begin(), time_file.end()));  // /usr/bin/time -f '%M'

  // The whole file decoded would take 12 M x 13 bytes = 149 MiB; the budget is 64 MiB. Under
  // AddressSanitizer (shadow memory, quarantined frees) the same run needs about 100 MiB.
#if defined(__SANITIZE_ADDRESS__) || defined(EVLIB_TEST_ASAN)
  constexpr long kBudgetKib = 160 * 1024;
#else
  constexpr long kBudgetKib = 64 * 1024;
#endif
  EXPECT_LT(peak_kib, kBudgetKib) << "peak RSS " << peak_kib << " KiB";
}

TEST_P(CliScanFiles, info_digest_is_the_same_with_threads_and_a_small_memory_limit) {
  test::ScopedTempDir dir;
  const std::string path = dir.file("rec.raw");
  std::filesystem::copy_file(recording(kEvt2), path);
  std::string a, b;
  ASSERT_EQ(test::run_command(cli() + " info --json --digest -q " + path, &a), 0);
  ASSERT_EQ(test::run_command(cli() + " info --json --digest -q --threads 2 --memory-limit 2M " + path, &b), 0);
  const std::regex re("\"digest\": \"([0-9a-f]{64})\"");
  std::smatch ma, mb;
  ASSERT_TRUE(std::regex_search(a, ma, re));
  ASSERT_TRUE(std::regex_search(b, mb, re));
  EXPECT_EQ(ma[1], mb[1]);
  EXPECT_EQ(ma[1].str(), digest(read(path).events));
}

TEST(CliScan, every_block_decoder_path_gives_the_same_digest) {
  // EVLIB_MAX_BLOCK_ISA caps the decoders at AVX2 or the scalar loop (what older CPUs run); the
  // events must not depend on it, whole file or windowed, on one thread or two.
  test::ScopedTempDir dir;
  for (const std::string format : {"evt2", "evt21", "dat", "evt3"}) {
    const std::string path = dir.file("a." + format);
    ASSERT_EQ(test::run_command(cli() + " generate " + path + " -n 300000 --seed 7 --to " + format + " -q"), 0) << format;
    for (const std::string args : {" --threads 1", " --threads 2", " --threads 1 --from 3ms --to 9ms --roi 100,50,700,400"}) {
      std::string reference;
      for (const std::string isa : {"avx512", "avx2", "scalar"}) {
        std::string out;
        ASSERT_EQ(test::run_command("EVLIB_MAX_BLOCK_ISA=" + isa + " " + cli() + " info -q --no-index --digest" + args + " " + path, &out), 0);
        const auto at = out.find("digest");
        ASSERT_NE(at, std::string::npos) << out;
        const std::string digest = out.substr(at, out.find('\n', at) - at);
        if (reference.empty()) {
          reference = digest;
          EXPECT_EQ(out.find("events          0\n"), std::string::npos) << format << args << ": no events to compare";
        }
        EXPECT_EQ(digest, reference) << format << args << " with EVLIB_MAX_BLOCK_ISA=" << isa;
      }
    }
  }
}

}  // namespace
}  // namespace evlib
