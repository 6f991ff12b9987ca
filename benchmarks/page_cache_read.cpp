// How fast this machine hands a cached file to user space, with no decoding: the floor under
// every streaming decoder. Each thread reads its half of the file in 1 MiB windows and sums the
// 32-bit words (so that every byte is touched, as a decoder would), by one of three means:
//   pread     one reused buffer, the kernel copies each window in (what ByteSource does)
//   mmap      one mapping per window with MAP_POPULATE, unmapped after use
//   populate  one mapping of the whole range, MADV_POPULATE_READ ahead, MADV_DONTNEED behind
//             every 64 MiB (so that resident memory stays bounded)
//
//   evlib_page_cache_read FILE [RUNS]     # prints GB/s per means and thread count, median (min-max)
//
// Read the file once beforehand (cat FILE > /dev/null) so that it is in the page cache.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22  // Linux 5.14
#endif

namespace {

constexpr std::size_t kWindow = std::size_t{1} << 20;
constexpr std::size_t kDropEvery = std::size_t{64} << 20;

enum class Means { kPread, kMmapWindow, kPopulate };

std::uint64_t sum_words(const std::uint8_t* data, std::size_t bytes) {
  std::uint64_t sum = 0;
  for (std::size_t i = 0; i + 4 <= bytes; i += 4) {
    std::uint32_t w;
    std::memcpy(&w, data + i, 4);
    sum += w;
  }
  return sum;
}

std::uint64_t read_range(int fd, std::size_t begin, std::size_t end, Means means) {
  std::uint64_t sum = 0;
  if (means == Means::kPread) {
    const auto buffer = std::make_unique_for_overwrite<std::uint8_t[]>(kWindow);
    for (std::size_t at = begin; at < end; at += kWindow) {
      const ssize_t got = ::pread(fd, buffer.get(), std::min(kWindow, end - at), static_cast<off_t>(at));
      if (got <= 0) std::exit(2);
      sum += sum_words(buffer.get(), static_cast<std::size_t>(got));
    }
  } else if (means == Means::kMmapWindow) {
    for (std::size_t at = begin; at < end; at += kWindow) {
      const std::size_t n = std::min(kWindow, end - at);
      void* m = ::mmap(nullptr, n, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, static_cast<off_t>(at));
      if (m == MAP_FAILED) std::exit(2);
      sum += sum_words(static_cast<const std::uint8_t*>(m), n);
      ::munmap(m, n);
    }
  } else {
    auto* m = static_cast<std::uint8_t*>(::mmap(nullptr, end - begin, PROT_READ, MAP_SHARED, fd, static_cast<off_t>(begin)));
    if (m == MAP_FAILED) std::exit(2);
    std::size_t dropped = 0;
    for (std::size_t at = 0; at < end - begin; at += kWindow) {
      const std::size_t n = std::min(kWindow, end - begin - at);
      ::madvise(m + at, n, MADV_POPULATE_READ);
      sum += sum_words(m + at, n);
      if (at + n - dropped >= kDropEvery) {
        ::madvise(m + dropped, at + n - dropped, MADV_DONTNEED);
        dropped = at + n;
      }
    }
    ::munmap(m, end - begin);
  }
  return sum;
}

// One run: GB/s over the whole file, split in equal halves (window-aligned) across threads.
double run(const char* path, std::size_t size, Means means, unsigned threads, std::uint64_t& checksum) {
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) std::exit(2);
  std::vector<std::uint64_t> sums(threads);
  std::vector<std::thread> workers;
  const auto start = std::chrono::steady_clock::now();
  for (unsigned i = 0; i < threads; ++i) {
    const std::size_t begin = size / threads / kWindow * kWindow * i;
    const std::size_t end = i + 1 == threads ? size : size / threads / kWindow * kWindow * (i + 1);
    workers.emplace_back([&, i, begin, end] { sums[i] = read_range(fd, begin, end, means); });
  }
  for (auto& w : workers) w.join();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ::close(fd);
  checksum = 0;
  for (const auto s : sums) checksum += s;
  return static_cast<double>(size) / seconds / 1e9;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s FILE [RUNS]\n", argv[0]);
    return 64;
  }
  const char* path = argv[1];
  const int runs = argc > 2 ? std::max(1, std::atoi(argv[2])) : 5;
  struct stat st {};
  if (::stat(path, &st) != 0) {
    std::fprintf(stderr, "%s: %s\n", path, std::strerror(errno));
    return 2;
  }
  const std::size_t size = static_cast<std::size_t>(st.st_size) / 4 * 4;
  const struct {
    Means means;
    const char* name;
  } all[] = {{Means::kPread, "pread"}, {Means::kMmapWindow, "mmap"}, {Means::kPopulate, "populate"}};
  // Runs alternate between the means and thread counts, so that the machine's drift falls on all.
  std::vector<std::vector<double>> rates(6);
  std::uint64_t reference = 0;
  for (int r = 0; r < runs; ++r) {
    for (int m = 0; m < 3; ++m) {
      for (unsigned threads = 1; threads <= 2; ++threads) {
        std::uint64_t checksum = 0;
        rates[m * 2 + threads - 1].push_back(run(path, size, all[m].means, threads, checksum));
        if (reference == 0) reference = checksum;
        if (checksum != reference) {
          std::fprintf(stderr, "%s: checksums differ between runs\n", path);
          return 1;
        }
      }
    }
  }
  std::printf("%s, %.1f MB, %d runs: GB/s median (min-max)\n", path, static_cast<double>(size) / 1e6, runs);
  for (int m = 0; m < 3; ++m) {
    for (unsigned threads = 1; threads <= 2; ++threads) {
      auto& v = rates[m * 2 + threads - 1];
      std::sort(v.begin(), v.end());
      std::printf("  %-9s %u thread%s  %.2f (%.2f-%.2f)\n", all[m].name, threads, threads == 1 ? " " : "s", v[v.size() / 2],
                  v.front(), v.back());
    }
  }
  return 0;
}
