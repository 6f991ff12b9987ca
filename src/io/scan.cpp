#include "evlib/scan.hpp"

#include <sched.h>

#include <algorithm>
#include <cstring>
#include <thread>

#include "evlib/error.hpp"
#include "io/scan_internal.hpp"

namespace evlib {

// ---- settings ---------------------------------------------------------------------------------

std::size_t Scan::Impl::chunk_events() const {
  std::size_t n = options.chunk_events != ReadOptions{}.chunk_events ? options.chunk_events : default_chunk_events();
  if (memory_limit != 0) {
    // Half the budget for the chunk (13 bytes an event), the rest for input windows and output.
    n = std::min<std::size_t>(n, std::max<std::size_t>(memory_limit / 2 / 13, 4096));
  }
  return std::max<std::size_t>(n, 256);
}

// Only the options the file's format reads (its registry entry says which).
std::uint64_t Scan::Impl::options_hash() const { return detail::read_options_hash(metadata->format, options); }

detail::OpenedFormat Scan::Impl::open(const EventFilter& filter) const {
  ReadOptions o = options;
  o.filter = filter;
  return detail::open_format(path, o);
}

bool Scan::Impl::lookup_index(detail::FormatReader& reader) {
  if (index) return true;
  if (index_looked_up || policy == IndexPolicy::kOff) return false;
  index_looked_up = true;
  if (auto native = reader.native_index()) {
    index = std::move(native);
    index->seal();
    return true;
  }
  if (policy != IndexPolicy::kAuto || !reader.can_snapshot()) return false;
  const auto key = detail::index_key_for(path, metadata->format, options_hash());
  for (const auto& file : detail::index_locations(path, cache_dir)) {
    if (auto loaded = detail::TimeIndex::load(file, key)) {
      index = std::move(loaded);
      return true;
    }
  }
  return false;
}

void Scan::Impl::save_index() {
  if (policy != IndexPolicy::kAuto || !index) return;
  const auto key = detail::index_key_for(path, metadata->format, options_hash());
  for (const auto& file : detail::index_locations(path, cache_dir)) {
    if (index->save(file, key)) return;  // the first writable place wins
  }
}

unsigned Scan::Impl::thread_count() const {
  if (threads != 0) return threads;
  // All the cores this process may run on (its CPU affinity, which containers narrow), up to
  // eight: past that the pieces decoded ahead would take more than the default memory budget.
  cpu_set_t set;
  CPU_ZERO(&set);
  const int cores = ::sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set)
                                                                    : static_cast<int>(std::thread::hardware_concurrency());
  return static_cast<unsigned>(std::clamp(cores, 1, 8));
}

std::uint64_t Scan::Impl::budget_bytes() const {
  const std::uint64_t avail = available_memory();
  if (memory_limit == 0) return avail;
  return avail == 0 ? memory_limit : std::min<std::uint64_t>(memory_limit, avail);
}

// ---- Scan -------------------------------------------------------------------------------------

Scan::Scan(std::string path, ReadOptions options) : impl_(std::make_shared<Impl>()) {
  impl_->path = std::move(path);
  impl_->options = std::move(options);
}
Scan::~Scan() = default;
Scan::Scan(Scan&&) noexcept = default;
Scan& Scan::operator=(Scan&&) noexcept = default;

Scan scan(const std::string& path, const ReadOptions& options) { return Scan(path, options); }

Scan& Scan::time(std::int64_t t0, std::int64_t t1) {
  if (t1 < t0) throw InvalidArgument("Scan::time: t1 < t0");
  auto& f = impl_->options.filter;
  f.t0 = std::max(f.t0, t0);
  f.t1 = std::min(f.t1, t1);
  return *this;
}

Scan& Scan::roi(std::uint32_t x0, std::uint32_t y0, std::uint32_t x1, std::uint32_t y1) {
  if (x1 < x0 || y1 < y0) throw InvalidArgument("Scan::roi: empty or inverted region");
  auto& f = impl_->options.filter;
  f.x0 = std::max(f.x0, x0);
  f.x1 = std::min(f.x1, x1);
  f.y0 = std::max(f.y0, y0);
  f.y1 = std::min(f.y1, y1);
  return *this;
}

Scan& Scan::polarity(std::uint8_t p) {
  if (p > 1) throw InvalidArgument("Scan::polarity: p must be 0 (OFF) or 1 (ON)");
  impl_->options.filter.polarities &= static_cast<std::uint8_t>(1u << p);
  return *this;
}

Scan& Scan::columns(std::vector<std::string> names) {
  unsigned mask = 0;
  for (const auto& n : names) {
    if (n == "t") mask |= 1;
    else if (n == "x") mask |= 2;
    else if (n == "y") mask |= 4;
    else if (n == "p") mask |= 8;
    else throw InvalidArgument("Scan::columns: unknown column '" + n + "' (t, x, y, p)");
  }
  impl_->columns = mask;
  return *this;
}

Scan& Scan::threads(unsigned n) {
  impl_->threads = n;
  return *this;
}
Scan& Scan::memory_limit(std::size_t bytes) {
  impl_->memory_limit = bytes;
  return *this;
}
Scan& Scan::index(IndexPolicy policy) {
  impl_->policy = policy;
  return *this;
}
Scan& Scan::index_dir(std::string dir) {
  impl_->cache_dir = std::move(dir);
  return *this;
}
Scan& Scan::on_progress(std::function<void(const ScanProgress&)> callback) {
  impl_->progress = std::move(callback);
  return *this;
}

const Metadata& Scan::metadata() {
  if (!impl_->metadata) impl_->metadata = impl_->open(EventFilter{}).metadata;
  return *impl_->metadata;
}
const EventFilter& Scan::filter() const { return impl_->options.filter; }
const DecodeStats& Scan::stats() const { return impl_->stats; }

}  // namespace evlib
