// evlib bench: decode throughput and peak memory, medians of several runs.
//
//   evlib bench FILE [--stream] [--threads N]      one file, runs in this process (as before)
//   evlib bench A B                                 two files side by side
//   evlib bench FILE --compare-threads 1,2          two (or more) option sets side by side
//   evlib bench FILE --compare "--stream" --compare "--threads 2"
//   evlib bench FILE --sweep-chunks                 streaming chunk sizes, with a recommendation
//
// The comparing modes run every measurement in a fresh child process (this binary, `bench ...
// --runs 1 --json`), alternating the sides round by round, because on a shared, noisy machine
// the worst runs are often 1.5-2.5x the median and drift over minutes: alternating spreads the
// drift over both sides, and a fresh process per run gives each its own peak RSS (the high-water
// mark of a process never goes down) and its own fresh memory, as a user's program would have.
#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __AVX2__
#include <immintrin.h>
#endif

#include <algorithm>
#include <bit>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "cli_support.hpp"
#include "commands.hpp"
#include "evlib/error.hpp"
#include "evlib/reader.hpp"
#include "evlib/scan.hpp"
#include "formats/prophesee/block_decoders.hpp"  // the stateless EVT 2.1 expansion of the ceiling
#include "formats/prophesee/evt21.hpp"           // its half-word order

extern char** environ;

namespace evlib::cli {

namespace {

struct BenchArgs {
  std::vector<std::string> files;
  ReaderFlags flags;
  int runs = 5;
  bool stream = false;
  bool json = false;
  unsigned threads = 0;  // 0: evlib::read (one decoding thread, a prefault helper); 1: the same on one core; N: Scan::collect
  std::string compare_threads;          // "1,2": one side per thread count
  std::vector<std::string> compare;     // option sets, one side each
  bool sweep_chunks = false;
  std::string chunk_sizes = "16384,65536,262144,1048576,4194304";
};

// Reads the file once so that every timed run starts with it in the page cache.
void warm_page_cache(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return;
  std::vector<char> buf(std::size_t{4} << 20);
  while (::read(fd, buf.data(), buf.size()) > 0) {
  }
  ::close(fd);
}

std::uint64_t peak_rss_bytes() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  return static_cast<std::uint64_t>(ru.ru_maxrss) * 1024;
}

double median_of(std::vector<double> v) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

struct Stats {
  double median = NAN, min = NAN, max = NAN;
};
Stats stats_of(const std::vector<double>& v) {
  if (v.empty()) return {};
  return {median_of(v), *std::min_element(v.begin(), v.end()), *std::max_element(v.begin(), v.end())};
}

std::string mib(double bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MiB", bytes / (1 << 20));
  return buf;
}

// ---- one file, in this process (the original mode) ---------------------------------------------

// One timed decode; returns the number of events.
std::uint64_t decode_once(const BenchArgs& a, const std::string& path, const ReadOptions& options) {
  if (!a.stream && a.threads == 1) {
    // One thread is one core in total: evlib::read without its prefault helper thread.
    ReadOptions one_core = options;
    one_core.prefault_thread = false;
    return read(path, one_core).events.size();
  }
  if (!a.stream && a.threads != 0) return Scan(path, options).threads(a.threads).collect().size();
  if (!a.stream) return read(path, options).events.size();
  if (a.threads != 0) {
    // Scan's chunks, split across threads where the format allows (no index: decoding only).
    auto chunks = Scan(path, options).threads(a.threads).index(IndexPolicy::kOff).chunks();
    std::uint64_t n = 0;
    while (auto chunk = chunks.next()) n += chunk->events.size();
    return n;
  }
  Reader reader = Reader::open(path, options);
  std::uint64_t n = 0;
  while (auto chunk = reader.next()) n += chunk->events.size();
  return n;
}

// ---- the stateless ceiling of streaming ----------------------------------------------------------

// What the machine allows a streaming decoder of this file, measured in the same run (it moves
// with the page cache's state): the file's payload read in 1 MiB pread windows, every word split
// into t/x/y/p columns of reused 1 Mi-event buffers, with no state and no validation. No decoder
// can beat this pass over the same bytes; the fraction of it a decoder reaches is comparable
// across machines and page-cache states where raw rates are not. EVT 2.1 words hold up to 32
// events each, so its pass expands every CD word's validity mask into events (t its 6-bit time,
// no TIME_HIGH) and counts events, not words: an events/s ceiling for an events/s decoder.
class CeilingPass {
 public:
  static constexpr std::size_t kWindowBytes = std::size_t{1} << 20;
  static constexpr std::size_t kColumnEvents = std::size_t{1} << 20;

  // Word size of the pass for a format: 4-byte words for EVT 2.0 and 3.0, 8-byte ones for
  // EVT 2.1 and DAT's records; 0 for formats it does not describe.
  static unsigned word_bytes(const std::string& format) {
    if (format == "dat" || format == "evt21") return 8;
    if (format == "evt2" || format == "evt3") return 4;
    return 0;
  }
  // What the pass counts: events for EVT 2.1, words (one event each at most) otherwise.
  static const char* unit(const std::string& format) { return format == "evt21" ? "events" : "words"; }

  CeilingPass(const std::string& format, std::uint64_t data_offset)
      : word_bytes_(word_bytes(format)), expand_masks_(format == "evt21"), data_offset_(data_offset),
        window_(kWindowBytes), t_(kColumnEvents),
        x_(kColumnEvents), y_(kColumnEvents), p_(kColumnEvents) {}

  // One pass over the file; returns the words split (events expanded for EVT 2.1).
  std::uint64_t run(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw Error(path + ": cannot open for the ceiling pass: " + std::strerror(errno));
    std::uint64_t offset = data_offset_, words = 0;
    std::size_t n = 0;
    for (;;) {
      const ssize_t got = ::pread(fd, window_.data(), kWindowBytes, static_cast<off_t>(offset));
      if (got <= 0) break;
      const std::size_t count = static_cast<std::size_t>(got) / word_bytes_;
      offset += static_cast<std::uint64_t>(got);
      if (expand_masks_) {
        words += expand_window(window_.data(), count, n);
        continue;
      }
      if (n + count > kColumnEvents) n = 0;
      if (word_bytes_ == 8) {
        split_records(window_.data(), count, n);
      } else {
        split_words(window_.data(), count, n);
      }
      n += count;
      words += count;
    }
    ::close(fd);
    return words;
  }

 private:
  // Explicit AVX2 where the build targets it (the default x86-64-v3): the compiler does not
  // vectorise the 64-bit widening of these loops by itself, and a ceiling must be as fast as
  // the machine allows. The scalar loops finish each window.
  void split_words(const std::uint8_t* in, std::size_t count, std::size_t at) {
    std::int64_t* __restrict t = t_.data() + at;
    std::uint16_t* __restrict x = x_.data() + at;
    std::uint16_t* __restrict y = y_.data() + at;
    std::uint8_t* __restrict p = p_.data() + at;
    std::size_t i = 0;
#ifdef __AVX2__
    for (; i + 8 <= count; i += 8) {
      const __m256i w = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(in + 4 * i));
      const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(w, 22), _mm256_set1_epi32(63));
      store_columns(t + i, x + i, y + i, p + i, lsb, _mm256_and_si256(_mm256_srli_epi32(w, 11), _mm256_set1_epi32(0x7FF)),
                    _mm256_and_si256(w, _mm256_set1_epi32(0x7FF)), _mm256_srli_epi32(w, 28));
    }
#endif
    for (; i < count; ++i) {
      std::uint32_t w;
      std::memcpy(&w, in + 4 * i, 4);
      t[i] = (w >> 22) & 63;
      x[i] = static_cast<std::uint16_t>((w >> 11) & 0x7FF);
      y[i] = static_cast<std::uint16_t>(w & 0x7FF);
      p[i] = static_cast<std::uint8_t>(w >> 28);
    }
  }
  void split_records(const std::uint8_t* in, std::size_t count, std::size_t at) {
    std::int64_t* __restrict t = t_.data() + at;
    std::uint16_t* __restrict x = x_.data() + at;
    std::uint16_t* __restrict y = y_.data() + at;
    std::uint8_t* __restrict p = p_.data() + at;
    std::size_t i = 0;
#ifdef __AVX2__
    for (; i + 8 <= count; i += 8) {
      const __m256 a = _mm256_loadu_ps(reinterpret_cast<const float*>(in + 8 * i));
      const __m256 b = _mm256_loadu_ps(reinterpret_cast<const float*>(in + 8 * i + 32));
      const __m256i time = _mm256_permute4x64_epi64(_mm256_castps_si256(_mm256_shuffle_ps(a, b, 0x88)), 0xD8);
      const __m256i w = _mm256_permute4x64_epi64(_mm256_castps_si256(_mm256_shuffle_ps(a, b, 0xDD)), 0xD8);
      store_columns(t + i, x + i, y + i, p + i, time, _mm256_and_si256(w, _mm256_set1_epi32(0x3FFF)),
                    _mm256_and_si256(_mm256_srli_epi32(w, 14), _mm256_set1_epi32(0x3FFF)), _mm256_srli_epi32(w, 28));
    }
#endif
    for (; i < count; ++i) {
      std::uint32_t time, w;
      std::memcpy(&time, in + 8 * i, 4);
      std::memcpy(&w, in + 8 * i + 4, 4);
      t[i] = time;
      x[i] = static_cast<std::uint16_t>(w & 0x3FFF);
      y[i] = static_cast<std::uint16_t>((w >> 14) & 0x3FFF);
      p[i] = static_cast<std::uint8_t>(w >> 28);
    }
  }
#ifdef __AVX2__
  // Eight events' columns from 32-bit lanes (x, y below 2^16, p below 2^8).
  static void store_columns(std::int64_t* t, std::uint16_t* x, std::uint16_t* y, std::uint8_t* p, __m256i time,
                            __m256i xs, __m256i ys, __m256i ps) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(t), _mm256_cvtepu32_epi64(_mm256_castsi256_si128(time)));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(t + 4), _mm256_cvtepu32_epi64(_mm256_extracti128_si256(time, 1)));
    const __m256i xy = _mm256_permute4x64_epi64(_mm256_packus_epi32(xs, ys), 0xD8);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(x), _mm256_castsi256_si128(xy));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(y), _mm256_extracti128_si256(xy, 1));
    const __m128i p16 = _mm_packus_epi32(_mm256_castsi256_si128(ps), _mm256_extracti128_si256(ps, 1));
    _mm_storel_epi64(reinterpret_cast<__m128i*>(p), _mm_packus_epi16(p16, p16));
  }
#endif

  // EVT 2.1: each CD word's set mask bits as events, in pieces small enough for the columns
  // (32 events a word at most); returns the events. AVX-512 where the CPU has it (the block
  // decoders' expansion without their checks), a plain loop for the rest.
  std::size_t expand_window(const std::uint8_t* in, std::size_t count, std::size_t& n) {
    if (!legacy_) legacy_ = detail::Evt21Decoder::guess_legacy_layout(in, count * 8) == 1;
    constexpr std::size_t kPieceWords = 4096;
    std::size_t events = 0;
    for (std::size_t done = 0; done < count; done += kPieceWords) {
      const std::size_t piece = std::min(kPieceWords, count - done);
      if (n + 32 * piece + detail::kEvt21BlockRoom > kColumnEvents) n = 0;
      const std::size_t n0 = n;
      detail::BlockColumns cols{t_.data(), x_.data(), y_.data(), p_.data(), n};
      const std::uint8_t* words = in + 8 * done;
      std::size_t i = detail::evt21_expand_stateless(detail::cpu_block_isa(), words, piece, *legacy_, cols);
      for (; i < piece; ++i) {
        std::uint32_t a, b;
        std::memcpy(&a, words + 8 * i, 4);
        std::memcpy(&b, words + 8 * i + 4, 4);
        const std::uint32_t h = *legacy_ ? a : b;
        for (std::uint32_t mask = (h >> 28) <= 1 ? (*legacy_ ? b : a) : 0; mask != 0; mask &= mask - 1) {
          t_[cols.n] = (h >> 22) & 63;
          x_[cols.n] = static_cast<std::uint16_t>(((h >> 11) & 0x7FF) + static_cast<unsigned>(std::countr_zero(mask)));
          y_[cols.n] = static_cast<std::uint16_t>(h & 0x7FF);
          p_[cols.n++] = static_cast<std::uint8_t>(h >> 28);
        }
      }
      n = cols.n;
      events += n - n0;
    }
    return events;
  }

  const unsigned word_bytes_;
  const bool expand_masks_;
  std::optional<bool> legacy_;  // EVT 2.1's half-word order, from the first window
  const std::uint64_t data_offset_;
  std::vector<std::uint8_t> window_;
  std::vector<std::int64_t> t_;
  std::vector<std::uint16_t> x_, y_;
  std::vector<std::uint8_t> p_;
};

int run_single(const BenchArgs& a) {
  const std::string& path = a.files.front();
  const ReadOptions options = a.flags.resolve();
  const Metadata meta = read_metadata(path, options);
  warm_page_cache(path);
  if (a.threads > 1 && !a.stream) {
    // Parallel collect() splits the file at its time index: build it (untimed) if missing.
    auto chunks = Scan(path, options).chunks();
    while (chunks.next()) {
    }
  }
  // Streaming runs alternate with the ceiling pass, so that both see the same machine state.
  const unsigned ceiling_word = a.stream ? CeilingPass::word_bytes(meta.format) : 0;
  std::optional<CeilingPass> ceiling;
  if (ceiling_word != 0) ceiling.emplace(meta.format, meta.data_offset);
  std::vector<double> ceiling_seconds;
  std::uint64_t ceiling_words = 0;
  const std::uint64_t rss_before = peak_rss_bytes();
  std::vector<double> seconds;
  std::uint64_t events = 0;
  for (int r = 0; r < a.runs; ++r) {
    if (ceiling) {
      const auto c0 = std::chrono::steady_clock::now();
      ceiling_words = ceiling->run(path);
      ceiling_seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - c0).count());
    }
    const auto t0 = std::chrono::steady_clock::now();
    const std::uint64_t n = decode_once(a, path, options);
    const auto t1 = std::chrono::steady_clock::now();
    if (r > 0 && n != events) throw Error("event count changed between runs: decoder is not deterministic");
    events = n;
    seconds.push_back(std::chrono::duration<double>(t1 - t0).count());
  }
  const std::uint64_t rss = peak_rss_bytes();
  const Stats s = stats_of(seconds);
  const double median = s.median, best = s.min, worst = s.max;
  const double ev = static_cast<double>(events), mb = static_cast<double>(meta.file_size) / 1e6;
  const double bytes_per_event = events ? static_cast<double>(rss) / ev : 0.0;
  if (a.json) {
    Json j;
    j.field("path", path).field("format", meta.format).field("mode", a.stream ? "stream" : "whole-file");
    j.field("threads", a.threads == 0 ? 1u : a.threads);
    if (a.stream) j.field("chunk_events", static_cast<std::uint64_t>(options.chunk_events));
    j.field("runs", a.runs).field("events", events).field("input_bytes", meta.file_size);
    j.field("median_s", median).field("min_s", best).field("max_s", worst);
    j.field("median_mev_s", ev / median / 1e6).field("min_mev_s", ev / worst / 1e6).field("max_mev_s", ev / best / 1e6);
    j.field("median_mb_s", mb / median).field("peak_rss_bytes", rss).field("rss_before_bytes", rss_before);
    j.field("peak_rss_bytes_per_event", bytes_per_event);
    if (ceiling) {
      const Stats c = stats_of(ceiling_seconds);
      const double words = static_cast<double>(ceiling_words);
      j.field("ceiling_word_bytes", ceiling_word).field("ceiling_words", ceiling_words);
      j.field("ceiling_unit", CeilingPass::unit(meta.format));
      j.field("ceiling_median_mev_s", words / c.median / 1e6).field("ceiling_min_mev_s", words / c.max / 1e6);
      j.field("ceiling_max_mev_s", words / c.min / 1e6);
      j.field("fraction_of_ceiling", (ev / median) / (words / c.median));
    }
    std::printf("%s\n", j.str().c_str());
  } else {
    std::printf("%s: %s, %llu events, %.1f MB, %s, %d runs\n", path.c_str(), meta.format.c_str(),
                static_cast<unsigned long long>(events), mb, a.stream ? "streaming" : "whole file into memory", a.runs);
    std::printf("throughput  median %.1f M events/s (%.0f MB/s); min %.1f, max %.1f M events/s\n", ev / median / 1e6,
                mb / median, ev / worst / 1e6, ev / best / 1e6);
    std::printf("peak RSS    %.1f MiB = %.2f bytes/event\n", static_cast<double>(rss) / (1 << 20), bytes_per_event);
    if (ceiling) {
      const Stats c = stats_of(ceiling_seconds);
      const double words = static_cast<double>(ceiling_words);
      const char* unit = CeilingPass::unit(meta.format);
      std::printf("ceiling     median %.1f M %s/s; min %.1f, max %.1f (stateless pass: %u-byte words split into "
                  "t/x/y/p%s, 1 MiB pread windows, reused 1 Mi-event columns, runs alternated with the decoder's)\n",
                  words / c.median / 1e6, unit, words / c.max / 1e6, words / c.min / 1e6, ceiling_word,
                  meta.format == "evt21" ? " with each CD word's mask expanded into events" : "");
      std::printf("decoder     %.0f%% of the ceiling (M events/s over M %s/s, medians)\n",
                  100.0 * (ev / median) / (words / c.median), unit);
    }
  }
  return 0;
}

// ---- child processes -----------------------------------------------------------------------------

struct ChildRun {
  std::string json;          // what the child printed
  std::uint64_t max_rss = 0;  // its peak resident memory, bytes (wait4)
};

std::string self_exe() {
  std::vector<char> buf(4096);
  const ssize_t n = ::readlink("/proc/self/exe", buf.data(), buf.size() - 1);
  if (n <= 0) throw Error("cannot find this program's path (/proc/self/exe) to run measurements in child processes");
  return std::string(buf.data(), static_cast<std::size_t>(n));
}

// Runs `evlib args...` with stdout captured, stderr shared; throws when it fails.
ChildRun run_child(const std::vector<std::string>& args) {
  static const std::string exe = self_exe();
  std::vector<char*> argv;
  std::string argv0 = "evlib";
  argv.push_back(argv0.data());
  std::vector<std::string> copy = args;
  for (auto& s : copy) argv.push_back(s.data());
  argv.push_back(nullptr);

  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw Error(std::string("pipe: ") + std::strerror(errno));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);  // dup2 clears CLOEXEC on fd 1
  pid_t pid = 0;
  const int rc = ::posix_spawn(&pid, exe.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  if (rc != 0) {
    ::close(fds[0]);
    throw Error("cannot start " + exe + ": " + std::strerror(rc));
  }
  ChildRun out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR)) {
    if (n > 0) out.json.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fds[0]);
  int status = 0;
  rusage ru{};
  while (::wait4(pid, &status, 0, &ru) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::string cmd = "evlib";
    for (const auto& s : args) cmd += " " + s;
    throw Error("measurement failed: " + cmd);
  }
  out.max_rss = static_cast<std::uint64_t>(ru.ru_maxrss) * 1024;
  return out;
}

// A number or string field of the flat JSON object `evlib bench --json` prints.
double json_number(const std::string& json, const std::string& key) {
  const std::string k = "\"" + key + "\": ";
  const auto at = json.find(k);
  if (at == std::string::npos) throw Error("bench child output lacks " + key + ": " + json);
  return std::strtod(json.c_str() + at + k.size(), nullptr);
}
std::string json_string(const std::string& json, const std::string& key) {
  const std::string k = "\"" + key + "\": \"";
  const auto at = json.find(k);
  if (at == std::string::npos) return "";
  const auto end = json.find('"', at + k.size());
  return json.substr(at + k.size(), end - at - k.size());
}

// The reader options of this invocation as arguments for a child (chunk only when asked).
std::vector<std::string> reader_args(const ReaderFlags& f, bool with_chunk) {
  std::vector<std::string> a;
  const ReadOptions& o = f.options;
  if (!f.format.empty()) a.insert(a.end(), {"--format", f.format});
  if (!o.text_columns.empty()) a.insert(a.end(), {"--text-columns", o.text_columns});
  if (!o.text_time_unit.empty()) a.insert(a.end(), {"--time-unit", o.text_time_unit});
  if (o.strict) a.push_back("--strict");
  if (o.metavision_time_shift) a.push_back("--metavision-time");
  if (o.width != 0) a.insert(a.end(), {"--width", std::to_string(o.width)});
  if (o.height != 0) a.insert(a.end(), {"--height", std::to_string(o.height)});
  if (!o.evt21_endianness.empty()) a.insert(a.end(), {"--evt21-endianness", o.evt21_endianness});
  if (with_chunk && f.chunk != 0) a.insert(a.end(), {"--chunk", std::to_string(f.chunk)});
  return a;
}

std::vector<std::string> split_words(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

// One side of a comparison: a label and the child arguments that measure it.
struct Side {
  Side(std::string l, std::vector<std::string> a) : label(std::move(l)), args(std::move(a)) {}
  std::string label;
  std::vector<std::string> args;  // after "bench"
  std::vector<double> mev_s;      // one per run
  std::vector<double> rss;        // bytes, one per run
  std::uint64_t events = 0, input_bytes = 0;
  std::string format, mode;
};

// Runs rounds x sides children; the order of the sides rotates every round so that neither side
// always runs right after the other (caches, frequency, a neighbour's load).
void measure_alternating(std::vector<Side>& sides, int rounds, bool progress) {
  const std::size_t total = static_cast<std::size_t>(rounds) * sides.size();
  std::size_t done = 0;
  for (int r = 0; r < rounds; ++r) {
    for (std::size_t k = 0; k < sides.size(); ++k) {
      Side& s = sides[(k + static_cast<std::size_t>(r)) % sides.size()];
      const ChildRun run = run_child(s.args);
      const double events = json_number(run.json, "events");
      s.mev_s.push_back(events / json_number(run.json, "median_s") / 1e6);
      s.rss.push_back(static_cast<double>(run.max_rss));
      s.events = static_cast<std::uint64_t>(events);
      s.input_bytes = static_cast<std::uint64_t>(json_number(run.json, "input_bytes"));
      s.format = json_string(run.json, "format");
      s.mode = json_string(run.json, "mode");
      if (progress && stderr_is_terminal()) std::fprintf(stderr, "\r%zu/%zu runs", ++done, total);
    }
  }
  if (progress && stderr_is_terminal()) std::fprintf(stderr, "\r%*s\r", 20, "");
}

Json side_json(const Side& s) {
  const Stats t = stats_of(s.mev_s), m = stats_of(s.rss);
  Json j;
  j.field("label", s.label).field("format", s.format).field("mode", s.mode);
  j.field("events", s.events).field("input_bytes", s.input_bytes).field("runs", static_cast<int>(s.mev_s.size()));
  j.field("median_mev_s", t.median).field("min_mev_s", t.min).field("max_mev_s", t.max);
  j.field("median_mb_s", t.median * 1e6 * static_cast<double>(s.input_bytes) / static_cast<double>(std::max<std::uint64_t>(s.events, 1)) / 1e6);
  j.field("median_peak_rss_bytes", static_cast<std::uint64_t>(m.median)).field("max_peak_rss_bytes", static_cast<std::uint64_t>(m.max));
  j.field("peak_rss_bytes_per_event", s.events ? m.median / static_cast<double>(s.events) : 0.0);
  return j;
}

// ---- A/B and option-set comparisons ---------------------------------------------------------------

int run_compare(const BenchArgs& a) {
  std::vector<Side> sides;
  const std::vector<std::string> common_reader = reader_args(a.flags, true);
  auto base_args = [&](const std::string& file) {
    std::vector<std::string> v = {"bench", file, "--runs", "1", "--json"};
    v.insert(v.end(), common_reader.begin(), common_reader.end());
    return v;
  };
  if (a.files.size() == 2) {
    for (const auto& f : a.files) {
      Side s(f, base_args(f));
      if (a.stream) s.args.push_back("--stream");
      if (a.threads != 0) s.args.insert(s.args.end(), {"--threads", std::to_string(a.threads)});
      sides.push_back(std::move(s));
    }
  } else {
    std::vector<std::string> sets = a.compare;
    if (!a.compare_threads.empty()) {
      for (const auto n : parse_count_list(a.compare_threads, kMaxThreads)) sets.push_back("--threads " + std::to_string(n));
    }
    if (sets.size() < 2) throw InvalidArgument("give at least two option sets to compare (--compare-threads 1,2 or --compare twice)");
    for (const auto& set : sets) {
      Side s(set, base_args(a.files.front()));
      const auto words = split_words(set);
      // A set is bench options; a bare word here is a file the parser took for a set's value.
      if (words.empty() || words.front().rfind("-", 0) != 0) {
        throw InvalidArgument("--compare wants bench options, e.g. --compare=\"--threads 2\", not '" + set +
                              "' (to compare two files: evlib bench A B)");
      }
      s.args.insert(s.args.end(), words.begin(), words.end());
      if (a.stream && std::find(words.begin(), words.end(), "--stream") == words.end()) s.args.push_back("--stream");
      sides.push_back(std::move(s));
    }
  }
  // Fail here, with this command's exit codes (2 I/O, 3 unsupported, 4 malformed), rather than
  // as a failed child.
  for (const auto& f : a.files) read_metadata(f, a.flags.resolve());
  for (const auto& f : a.files) warm_page_cache(f);
  measure_alternating(sides, a.runs, !a.json);

  const double ref = stats_of(sides.front().mev_s).median;
  if (a.json) {
    std::string list = "[";
    for (std::size_t i = 0; i < sides.size(); ++i) {
      Json j = side_json(sides[i]);
      j.field("ratio_to_first", stats_of(sides[i].mev_s).median / ref);
      // Paired ratios (this side's run over the first side's run of the same round) cancel drift
      // that spans a round; their median is a second, often tighter, estimate.
      std::vector<double> paired;
      for (std::size_t r = 0; r < sides[i].mev_s.size(); ++r) paired.push_back(sides[i].mev_s[r] / sides[0].mev_s[r]);
      j.field("paired_ratio_median", median_of(paired));
      list += (i ? ", " : "") + j.str();
    }
    list += "]";
    Json top;
    top.field("mode", a.files.size() == 2 ? "compare-files" : "compare-options").field("runs", a.runs);
    top.raw("sides", list);
    std::printf("%s\n", top.str().c_str());
    return 0;
  }
  std::printf("%d alternating runs per side, each in a fresh process (file in page cache)\n", a.runs);
  std::size_t width = 6;
  for (const auto& s : sides) width = std::max(width, s.label.size());
  std::printf("%-*s  %-10s %11s  %-26s %9s  %-10s %s\n", static_cast<int>(width), "side", "format", "events",
              "M events/s median (min-max)", "MB/s", "peak RSS", "bytes/event");
  for (const auto& s : sides) {
    const Stats t = stats_of(s.mev_s), m = stats_of(s.rss);
    const double mbs = t.median * static_cast<double>(s.input_bytes) / static_cast<double>(std::max<std::uint64_t>(s.events, 1));
    char range[64];
    std::snprintf(range, sizeof range, "%.1f (%.1f-%.1f)", t.median, t.min, t.max);
    std::printf("%-*s  %-10s %11llu  %-26s %9.0f  %-10s %.2f\n", static_cast<int>(width), s.label.c_str(),
                (s.format + (s.mode == "stream" ? "/str" : "")).c_str(), static_cast<unsigned long long>(s.events), range,
                mbs, mib(m.median).c_str(), s.events ? m.median / static_cast<double>(s.events) : 0.0);
  }
  for (std::size_t i = 1; i < sides.size(); ++i) {
    std::vector<double> paired;
    for (std::size_t r = 0; r < sides[i].mev_s.size(); ++r) paired.push_back(sides[i].mev_s[r] / sides[0].mev_s[r]);
    const Stats p = stats_of(paired);
    std::printf("%s vs %s: throughput ratio of medians %.3f (paired runs: median %.3f, %.3f-%.3f)\n",
                sides[i].label.c_str(), sides[0].label.c_str(), stats_of(sides[i].mev_s).median / ref, p.median, p.min, p.max);
  }
  if (a.files.size() == 2 && sides[0].events != sides[1].events) {
    std::printf("note: the files hold different numbers of events (%llu, %llu); compare events/s, not time\n",
                static_cast<unsigned long long>(sides[0].events), static_cast<unsigned long long>(sides[1].events));
  }
  return 0;
}

// ---- streaming chunk sweep ------------------------------------------------------------------------

// What the sweep recommends (the rule is spelled out in the --help text of --sweep-chunks).
constexpr double kWithinBest = 0.95;          // a chunk size "as fast as the best" within 5 %
constexpr double kMemoryShareForWhole = 0.5;  // a whole-file read may take half of what is available

int run_sweep(const BenchArgs& a) {
  const std::string& path = a.files.front();
  const std::vector<std::uint64_t> sizes = parse_count_list(a.chunk_sizes, kMaxChunkEvents);
  const std::vector<std::string> reader = reader_args(a.flags, false);
  std::vector<Side> sides;
  for (const auto n : sizes) {
    Side s(std::to_string(n), {"bench", path, "--runs", "1", "--json", "--stream", "--chunk", std::to_string(n)});
    s.args.insert(s.args.end(), reader.begin(), reader.end());
    sides.push_back(std::move(s));
  }
  Side whole("whole file", {"bench", path, "--runs", "1", "--json"});
  whole.args.insert(whole.args.end(), reader.begin(), reader.end());
  sides.push_back(std::move(whole));
  read_metadata(path, a.flags.resolve());  // fail with this command's exit codes, not a child's
  warm_page_cache(path);
  measure_alternating(sides, a.runs, !a.json);

  // The chunk: the smallest size within 5 % of the fastest median (larger chunks then cost
  // memory and cache for nothing).
  double best = 0;
  for (std::size_t i = 0; i < sizes.size(); ++i) best = std::max(best, stats_of(sides[i].mev_s).median);
  std::size_t pick = 0;
  while (pick + 1 < sizes.size() && stats_of(sides[pick].mev_s).median < kWithinBest * best) ++pick;
  const Side& chosen = sides[pick];
  const Side& w = sides.back();
  const double events = static_cast<double>(w.events);
  // Memory a whole-file read needs per event: its peak RSS above that of the leanest streaming
  // run (the program, libraries and one small chunk), never less than the 13 bytes of the columns.
  double leanest = INFINITY;
  for (std::size_t i = 0; i < sizes.size(); ++i) leanest = std::min(leanest, stats_of(sides[i].rss).median);
  const double whole_rss = stats_of(w.rss).median;
  const double bytes_per_event = std::max(13.0, events > 0 ? (whole_rss - leanest) / events : 13.0);
  const double avail = static_cast<double>(available_memory());
  const double max_whole_events = avail * kMemoryShareForWhole / bytes_per_event;
  const double file_bpe = events > 0 ? static_cast<double>(w.input_bytes) / events : 0.0;
  const double whole_mev = stats_of(w.mev_s).median, stream_mev = stats_of(chosen.mev_s).median;

  if (a.json) {
    std::string list = "[";
    for (std::size_t i = 0; i < sides.size(); ++i) {
      Json j = side_json(sides[i]);
      if (i < sizes.size()) j.field("chunk_events", sizes[i]).field("chunk_column_bytes", sizes[i] * 13);
      list += (i ? ", " : "") + j.str();
    }
    list += "]";
    Json rec;
    rec.field("chunk_events", sizes[pick]).field("available_memory_bytes", static_cast<std::uint64_t>(avail));
    rec.field("whole_file_bytes_per_event", bytes_per_event);
    rec.field("whole_file_max_events", static_cast<std::uint64_t>(max_whole_events));
    rec.field("whole_file_max_input_bytes", static_cast<std::uint64_t>(max_whole_events * file_bpe));
    rec.field("stream_over_whole_speed", stream_mev / whole_mev);
    Json top;
    top.field("mode", "sweep-chunks").field("path", path).field("format", w.format).field("events", w.events);
    top.field("input_bytes", w.input_bytes).field("runs", a.runs).raw("results", list).object("recommendation", rec);
    std::printf("%s\n", top.str().c_str());
    return 0;
  }
  std::printf("%s: %s, %llu events, %.1f MB (%.2f bytes/event); %d alternating runs per size, fresh process each\n",
              path.c_str(), w.format.c_str(), static_cast<unsigned long long>(w.events),
              static_cast<double>(w.input_bytes) / 1e6, file_bpe, a.runs);
  std::printf("%-12s %-12s %-28s %-12s\n", "chunk events", "chunk cols", "M events/s median (min-max)", "peak RSS");
  for (std::size_t i = 0; i < sides.size(); ++i) {
    const Stats t = stats_of(sides[i].mev_s);
    char range[64];
    std::snprintf(range, sizeof range, "%.1f (%.1f-%.1f)", t.median, t.min, t.max);
    std::printf("%-12s %-12s %-28s %-12s%s\n", sides[i].label.c_str(),
                i < sizes.size() ? mib(static_cast<double>(sizes[i]) * 13).c_str() : "-", range,
                mib(stats_of(sides[i].rss).median).c_str(), i == pick ? "  <- recommended" : "");
  }
  std::printf("\nrecommendation for this machine (see `evlib bench --help`):\n");
  std::printf("  streaming chunk: --chunk %llu (%s of columns), the smallest size within %.0f%% of the fastest (%.1f M events/s)\n",
              static_cast<unsigned long long>(sizes[pick]), mib(static_cast<double>(sizes[pick]) * 13).c_str(),
              (1 - kWithinBest) * 100, best);
  std::printf("  whole file vs streaming: %s available; a whole-file read holds %.1f bytes/event, so read whole files of\n"
              "    up to %.0f M events (%.2f GB of this %s file type); stream anything larger\n",
              mib(avail).c_str(), bytes_per_event, max_whole_events / 1e6, max_whole_events * file_bpe / 1e9, w.format.c_str());
  if (stream_mev >= whole_mev) {
    std::printf("  streaming at that chunk is %.2fx the whole-file speed here: prefer it whenever the events need not all be in memory at once\n",
                stream_mev / whole_mev);
  } else {
    std::printf("  whole-file reads are %.2fx the streaming speed here: worth it for files that fit\n", whole_mev / stream_mev);
  }
  return 0;
}

int run_bench(const BenchArgs& a) {
  if (a.runs < 1) throw InvalidArgument("--runs must be at least 1");
  const bool comparing = !a.compare_threads.empty() || !a.compare.empty();
  if (a.files.size() == 2) {
    if (comparing || a.sweep_chunks) throw InvalidArgument("two files are compared as they are: leave out --compare*, --sweep-chunks");
    return run_compare(a);
  }
  if (a.sweep_chunks) {
    if (comparing) throw InvalidArgument("--sweep-chunks and --compare* are separate modes");
    return run_sweep(a);
  }
  if (comparing) return run_compare(a);
  return run_single(a);
}

}  // namespace

void add_bench_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<BenchArgs>();
  CLI::App* cmd = app.add_subcommand("bench", "Measure decode throughput (median, min, max) and peak memory");
  cmd->footer(
      "Modes:\n"
      "  evlib bench FILE                   whole file into memory (or --stream), --runs runs in this process\n"
      "  evlib bench A B                    two files side by side: alternating runs, ratio of medians\n"
      "  evlib bench FILE --compare-threads 1,2\n"
      "  evlib bench FILE --compare=--stream --compare=\"--threads 2\"   any option sets side by side\n"
      "                                     (write --compare=SET: a bare --stream would be read as a flag)\n"
      "  evlib bench FILE --sweep-chunks    streaming at several chunk sizes, with recommendations\n"
      "The comparing modes run each measurement in a fresh process (peak RSS per run) and alternate\n"
      "the sides round by round, so that a noisy machine's drift falls on all sides alike.\n"
      "\n"
      "--sweep-chunks recommends, for this machine and this kind of file:\n"
      "  a streaming chunk size: the smallest of --chunk-sizes whose median throughput is within 5% of\n"
      "    the fastest size's (bigger chunks then buy nothing and cost memory);\n"
      "  a whole-file-vs-streaming threshold: a whole-file read needs B bytes per event, measured as\n"
      "    (its peak RSS - the leanest streaming run's peak RSS) / events and at least 13 (the\n"
      "    columns); files of up to 0.5 x available memory / B events can be read whole (available\n"
      "    memory: the cgroup limit or MemAvailable), larger ones should be streamed. It also says\n"
      "    which of the two was faster here. Use a file of at least 10 M events for stable figures.");
  cmd->add_option("FILES", args->files, "Recording to decode, or two recordings to compare")->required()->expected(1, 2);
  cmd->add_option("-r,--runs", args->runs, "Timed runs, 1 to 1000 (default 5); per side in the comparing modes")
      ->check(CLI::Range(1, 1000));
  cmd->add_flag("--stream", args->stream, "Measure streaming with reused chunk buffers instead of a whole-file read; for EVT 2.0/2.1/3.0 and DAT "
                "also the stateless ceiling (the file's words split into columns, EVT 2.1 masks expanded into events, no decoding) and the fraction of it reached");
  cmd->add_flag("--json", args->json, "Print one JSON object");
  cmd->add_option("--threads", args->threads,
                  "Decode on N threads, 1 to 256: whole file split at the time index (built first if missing; 1: "
                  "evlib::read on one core, without its prefault helper thread); with --stream, Scan chunks split at "
                  "sync points (no index)")
      ->check(CLI::Range(1u, kMaxThreads));
  cmd->add_option("--compare-threads", args->compare_threads,
                  "Compare decoding on these thread counts, e.g. 1,2 (alternating runs, fresh processes); whole "
                  "file, or streaming with --stream")
      ->check(count_list_value(kMaxThreads));
  cmd->add_option("--compare", args->compare,
                  "An option set to compare, e.g. --compare=\"--stream --chunk 65536\"; give it twice or more")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd->add_flag("--sweep-chunks", args->sweep_chunks,
                "Stream at several chunk sizes (fresh process each, peak RSS per size) and recommend a chunk size "
                "and a whole-file-vs-streaming threshold for this machine");
  cmd->add_option("--chunk-sizes", args->chunk_sizes, "Chunk sizes in events for --sweep-chunks, 1 to 2^30 each (default 16384,...,4194304)")
      ->check(count_list_value(kMaxChunkEvents));
  args->flags.add_to(*cmd);
  cmd->callback([args, &exit_code] { exit_code = run_bench(*args); });
}

}  // namespace evlib::cli
