#include "evlib/scan.hpp"

#include <sched.h>

#include <algorithm>
#include <cstring>
#include <thread>

#include "evlib/error.hpp"
#include "io/scan_internal.hpp"

namespace evlib {

// ---- the plan ---------------------------------------------------------------------------------

std::uint64_t Scan::Plan::streaming_budget() const { return memory_limit != 0 ? memory_limit : kDefaultStreamingBudget; }

std::size_t Scan::Plan::chunk_events() const {
  const std::size_t n = options.chunk_events != ReadOptions{}.chunk_events ? options.chunk_events : default_chunk_events();
  return std::max<std::size_t>(std::min<std::size_t>(n, std::max<std::uint64_t>(streaming_budget() / 4 / 13, 4096)), 256);
}

std::size_t Scan::Plan::piece_chunk_events(unsigned threads) const {
  return std::max<std::size_t>(streaming_budget() / 4 / 13 / (threads + 1), std::size_t{1} << 14);
}

unsigned Scan::Plan::thread_count() const {
  // Each decoding thread holds input windows and readers: about kBytesPerThread whatever the
  // file, from a quarter of the streaming budget. Threads that quarter cannot hold are not
  // started, so memory does not grow with the thread count: 8 at most by default, 4 in 32 MiB.
  constexpr std::uint64_t kBytesPerThread = std::uint64_t{2} << 20;
  const auto affordable =
      static_cast<unsigned>(std::clamp<std::uint64_t>(streaming_budget() / 4 / kBytesPerThread, 1, 256));
  if (threads != 0) return std::min(threads, affordable);
  // All the cores this process may run on (its CPU affinity, which containers narrow).
  cpu_set_t set;
  CPU_ZERO(&set);
  const int cores = ::sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set)
                                                                    : static_cast<int>(std::thread::hardware_concurrency());
  return std::min(static_cast<unsigned>(std::max(cores, 1)), affordable);
}

std::uint64_t Scan::Plan::budget_bytes() const {
  const std::uint64_t avail = available_memory();
  if (memory_limit == 0) return avail;
  return avail == 0 ? memory_limit : std::min<std::uint64_t>(memory_limit, avail);
}

// ---- Source: what the plans of one file share ------------------------------------------------

detail::OpenedFormat Scan::Source::open(const Plan& plan, const EventFilter& filter) {
  {
    std::lock_guard lock(mutex_);
    if (spare_ && spare_filter_ == filter) {
      detail::OpenedFormat opened = std::move(*spare_);
      spare_.reset();
      return opened;
    }
  }
  ReadOptions options = plan.options;
  options.filter = filter;
  detail::OpenedFormat opened = detail::open_format(plan.path, options);
  std::lock_guard lock(mutex_);
  // A copy: the stream's own metadata learns the time shift as it decodes; the scan's never changes.
  if (!metadata_) metadata_ = std::make_shared<const Metadata>(*opened.metadata);
  return opened;
}

void Scan::Source::give_back(detail::OpenedFormat opened, const EventFilter& filter) {
  std::lock_guard lock(mutex_);
  if (spare_) return;
  spare_ = std::move(opened);
  spare_filter_ = filter;
}

std::shared_ptr<const Metadata> Scan::Source::metadata(const Plan& plan) {
  {
    std::lock_guard lock(mutex_);
    if (metadata_) return metadata_;
  }
  detail::OpenedFormat opened = detail::open_format(plan.path, plan.options);
  std::shared_ptr<const Metadata> metadata = std::make_shared<const Metadata>(*opened.metadata);
  give_back(std::move(opened), plan.options.filter);
  std::lock_guard lock(mutex_);
  if (!metadata_) metadata_ = std::move(metadata);
  return metadata_;
}

namespace {
// Standard input ("-") has no name to find a cached index by, even when it is a regular file.
bool cacheable(const Scan::Plan& plan) { return plan.path != "-"; }
}  // namespace

std::shared_ptr<const detail::TimeIndex> Scan::Source::index(const Plan& plan, detail::FormatReader& reader) {
  if (plan.policy == IndexPolicy::kOff) return nullptr;
  std::lock_guard lock(mutex_);
  if (index_ || looked_up_in_ == plan.cache_dir) return index_;
  looked_up_in_ = plan.cache_dir;
  if (auto native = reader.native_index()) {
    native->seal();
    index_ = std::make_shared<const detail::TimeIndex>(std::move(*native));
    return index_;
  }
  if (plan.policy != IndexPolicy::kAuto || !reader.can_snapshot() || !cacheable(plan)) return nullptr;
  const std::string format = metadata_ ? metadata_->format : std::string();
  const auto key = detail::index_key_for(plan.path, format, detail::read_options_hash(format, plan.options));
  for (const auto& file : detail::index_locations(plan.path, plan.cache_dir)) {
    if (auto loaded = detail::TimeIndex::load(file, key)) {
      index_ = std::make_shared<const detail::TimeIndex>(std::move(*loaded));
      return index_;
    }
  }
  return nullptr;
}

void Scan::Source::publish_index(const Plan& plan, detail::TimeIndex index) {
  index.seal();
  auto shared = std::make_shared<const detail::TimeIndex>(std::move(index));
  std::string format;
  std::uint64_t size_at_open = 0;
  {
    std::lock_guard lock(mutex_);
    if (!index_) index_ = shared;
    if (metadata_) {
      format = metadata_->format;
      size_at_open = metadata_->file_size;
    }
  }
  if (plan.policy != IndexPolicy::kAuto || !cacheable(plan)) return;
  const auto key = detail::index_key_for(plan.path, format, detail::read_options_hash(format, plan.options));
  // A file that grew (a recording still being written) since it was opened: the index covers the
  // bytes of then, and saved under the size and times of now it would make every later reader
  // stop where this one did. It serves this object only.
  if (key.file_size != size_at_open) return;
  for (const auto& file : detail::index_locations(plan.path, plan.cache_dir)) {
    if (shared->save(file, key)) return;  // the first writable place wins
  }
}

// ---- Scan -------------------------------------------------------------------------------------

Scan::Scan(std::string path, ReadOptions options) : source_(std::make_shared<Source>()) {
  detail::check_chunk_events(options.chunk_events);
  auto plan = std::make_shared<Plan>();
  plan->path = std::move(path);
  plan->options = std::move(options);
  plan_ = std::move(plan);
}
Scan::Scan(std::shared_ptr<const Plan> plan, std::shared_ptr<Source> source)
    : plan_(std::move(plan)), source_(std::move(source)) {}
Scan::~Scan() = default;
Scan::Scan(const Scan&) = default;
Scan& Scan::operator=(const Scan&) = default;
Scan::Scan(Scan&&) noexcept = default;
Scan& Scan::operator=(Scan&&) noexcept = default;

Scan scan(const std::string& path, const ReadOptions& options) { return Scan(path, options); }

template <class Change>
Scan Scan::with(Change&& change) const {
  auto plan = std::make_shared<Plan>(*plan_);
  change(*plan);
  return Scan(std::move(plan), source_);
}

Scan Scan::time(std::int64_t t0, std::int64_t t1) const {
  if (t1 < t0) throw InvalidArgument("Scan::time: t1 < t0");
  return with([&](Plan& p) {
    p.options.filter.t0 = std::max(p.options.filter.t0, t0);
    p.options.filter.t1 = std::min(p.options.filter.t1, t1);
  });
}

Scan Scan::roi(std::uint32_t x0, std::uint32_t y0, std::uint32_t x1, std::uint32_t y1) const {
  if (x1 < x0 || y1 < y0) throw InvalidArgument("Scan::roi: empty or inverted region");
  return with([&](Plan& p) {
    auto& f = p.options.filter;
    f.x0 = std::max(f.x0, x0);
    f.x1 = std::min(f.x1, x1);
    f.y0 = std::max(f.y0, y0);
    f.y1 = std::min(f.y1, y1);
  });
}

Scan Scan::polarity(std::uint8_t p) const {
  if (p > 1) throw InvalidArgument("Scan::polarity: p must be 0 (OFF) or 1 (ON)");
  return with([&](Plan& plan) { plan.options.filter.polarities &= static_cast<std::uint8_t>(1u << p); });
}

Scan Scan::columns(std::vector<std::string> names) const {
  unsigned mask = 0;
  for (const auto& n : names) {
    if (n == "t") mask |= kColumnT;
    else if (n == "x") mask |= kColumnX;
    else if (n == "y") mask |= kColumnY;
    else if (n == "p") mask |= kColumnP;
    else throw InvalidArgument("Scan::columns: unknown column '" + n + "' (t, x, y, p)");
  }
  return with([&](Plan& p) { p.columns = mask; });
}

Scan Scan::threads(unsigned n) const {
  return with([&](Plan& p) { p.threads = n; });
}
Scan Scan::memory_limit(std::size_t bytes) const {
  return with([&](Plan& p) { p.memory_limit = bytes; });
}
Scan Scan::index(IndexPolicy policy) const {
  return with([&](Plan& p) { p.policy = policy; });
}
Scan Scan::index_dir(std::string dir) const {
  return with([&](Plan& p) { p.cache_dir = std::move(dir); });
}
Scan Scan::on_progress(std::function<void(const ScanProgress&)> callback) const {
  return with([&](Plan& p) { p.progress = std::move(callback); });
}

const Metadata& Scan::metadata() const { return *source_->metadata(*plan_); }
std::shared_ptr<const Metadata> Scan::shared_metadata() const { return source_->metadata(*plan_); }
const std::string& Scan::path() const { return plan_->path; }
const ReadOptions& Scan::options() const { return plan_->options; }
const EventFilter& Scan::filter() const { return plan_->options.filter; }

}  // namespace evlib
