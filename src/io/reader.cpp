#include "evlib/reader.hpp"

#include <sys/mman.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <new>

#include "evlib/error.hpp"
#include "evlib/scan.hpp"
#include "io/byte_source.hpp"
#include "io/format_reader.hpp"

namespace evlib {

namespace {
// Smallest chunk a reader hands out: a decoder needs room for one word's events (up to 32).
constexpr std::size_t kMinChunkEvents = 256;
}  // namespace

struct Reader::Impl {
  std::shared_ptr<Metadata> metadata;
  std::unique_ptr<detail::FormatReader> format;
  ReadOptions options;
  EventBatch buffer;  // reused while the caller does not hold on to it
  bool done = false;
};

Reader::Reader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Reader::~Reader() = default;
Reader::Reader(Reader&&) noexcept = default;
Reader& Reader::operator=(Reader&&) noexcept = default;

namespace detail {

OpenedFormat open_format(const std::string& path, const ReadOptions& options) {
  auto source = std::make_unique<ByteSource>(path, 0);
  const auto prefix = source->prefix(kPrefixBytes);
  const FormatDescriptor& format = find_format(path, prefix, options);
  OpenedFormat opened;
  opened.metadata = std::make_shared<Metadata>();
  opened.metadata->path = path;
  opened.metadata->file_size = source->size();
  opened.reader = format.decoder.open(std::move(source), prefix, options, *opened.metadata);
  return opened;
}

void check_chunk_events(std::size_t chunk_events) {
  if (chunk_events > kMaxChunkEvents) {
    throw InvalidArgument("ReadOptions::chunk_events: " + std::to_string(chunk_events) + " events a chunk is more than the " +
                          std::to_string(kMaxChunkEvents) + " allowed");
  }
}

}  // namespace detail

Reader Reader::open(const std::string& path, const ReadOptions& options) {
  detail::check_chunk_events(options.chunk_events);
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->options.chunk_events = std::max(options.chunk_events, kMinChunkEvents);
  auto opened = detail::open_format(path, options);
  impl->metadata = std::move(opened.metadata);
  impl->format = std::move(opened.reader);
  return Reader(std::move(impl));
}

const Metadata& Reader::metadata() const { return *impl_->metadata; }
std::shared_ptr<const Metadata> Reader::shared_metadata() const { return impl_->metadata; }
const DecodeStats& Reader::stats() const { return impl_->format->stats(); }
std::size_t Reader::upper_bound_events() { return impl_->format->upper_bound_events(); }

std::optional<Chunk> Reader::next() {
  if (impl_->done) return std::nullopt;
  if (impl_->buffer.capacity() == 0 || !impl_->buffer.sole_owner()) {
    impl_->buffer = EventBatch::with_capacity(impl_->options.chunk_events);
    impl_->buffer.metadata = impl_->metadata;
  }
  Chunk chunk;
  impl_->buffer.set_size(0);
  bool more = true;
  // Keep filling until the chunk is full or the input ends, so chunks are full-sized.
  while (more && !detail::chunk_is_full(impl_->buffer, chunk.triggers)) {
    more = impl_->format->fill(impl_->buffer, chunk.triggers);
  }
  if (!more) impl_->done = true;
  // Formats that cannot filter inside their decode loop are filtered here: same result.
  if (impl_->options.filter.active() && !impl_->format->pushes_down_filter()) {
    impl_->options.filter.apply(impl_->buffer);
  }
  chunk.bytes_done = impl_->format->bytes_done();
  impl_->metadata->time_shift = impl_->format->time_shift();
  if (impl_->buffer.empty() && chunk.triggers.empty() && impl_->done) return std::nullopt;
  chunk.events = impl_->buffer;
  return chunk;
}

namespace {

// Touches the pages of a whole-file batch ahead of the decoder, on another core. First writes to
// fresh memory cost the kernel a page clear (about as much as decoding itself, HACKING.md);
// done here, that work overlaps the decode instead of adding to it.
class Prefaulter {
 public:
  static constexpr std::size_t kAhead = std::size_t{4} << 20;  // events populated ahead of the decoder

  explicit Prefaulter(EventBatch& batch)
      : batch_(batch.region(0, batch.capacity())), limit_(std::min(kAhead, batch.capacity())), thread_([this] { run(); }) {}
  ~Prefaulter() {
    done_.store(true, std::memory_order_relaxed);
    thread_.join();
  }
  // n events decoded from `fraction` of the input: never populate far past the projected total
  // (the batch's capacity is a loose bound, up to 13x the real count for EVT3).
  void decoded(std::size_t n, double fraction) {
    if (fraction > 0.02) {
      const auto projected = static_cast<std::size_t>(static_cast<double>(n) / fraction * 1.02) + 65536;
      limit_.store(std::min(projected, batch_.capacity()), std::memory_order_relaxed);
    }
    decoded_.store(n, std::memory_order_relaxed);
  }

 private:
  void run() {
    std::size_t populated = 0;
    while (!done_.load(std::memory_order_relaxed) && populated < batch_.capacity()) {
      const std::size_t target =
          std::min(limit_.load(std::memory_order_relaxed), decoded_.load(std::memory_order_relaxed) + kAhead);
      if (target <= populated) {
        std::this_thread::sleep_for(std::chrono::microseconds(200));
        continue;
      }
      populate(batch_.t_data(), populated, target);
      populate(batch_.x_data(), populated, target);
      populate(batch_.y_data(), populated, target);
      populate(batch_.p_data(), populated, target);
      populated = target;
    }
  }
  template <class T>
  static void populate(T* column, std::size_t from, std::size_t to) {
    constexpr std::uintptr_t kPage = 4096;
    const auto begin = reinterpret_cast<std::uintptr_t>(column + from) & ~(kPage - 1);
    const auto end = reinterpret_cast<std::uintptr_t>(column + to) & ~(kPage - 1);
    // Errors are harmless (old kernels lack MADV_POPULATE_WRITE): the decoder faults pages itself.
    if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_POPULATE_WRITE);
  }

  EventBatch batch_;  // a region over the whole batch: its column pointers, never a copy of them
  std::atomic<std::size_t> decoded_{0};
  // Until a projection exists, stay within the first kAhead events.
  std::atomic<std::size_t> limit_;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

// The cores this process may run on (its CPU affinity, which taskset and containers narrow):
// the prefault helper is a second thread, so it needs a second core of its own.
unsigned usable_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) != 0) return std::thread::hardware_concurrency();
  return static_cast<unsigned>(CPU_COUNT(&set));
}

}  // namespace

Recording read(const std::string& path, const ReadOptions& options) {
  Reader reader = Reader::open(path, options);
  Recording rec;
  rec.metadata = reader.shared_metadata();
  detail::FormatReader& format = *reader.impl_->format;
  // Reserve address space for the loosest bound (untouched pages cost nothing, so this is free
  // when the kernel allows overcommit) and fall back to a counting pass when it does not.
  std::size_t bound = format.loose_upper_bound_events();
  const std::uint64_t available = available_memory();
  if (available != 0 && bound * 13.0 > static_cast<double>(available)) {
    // The cheap bound says it might not fit: count properly, and fail now rather than be killed
    // by the OOM killer halfway through.
    bound = format.upper_bound_events();
    if (bound * 13.0 > static_cast<double>(available)) {
      throw Error(path + ": reading the whole file needs up to " + std::to_string(bound * 13 >> 20) + " MiB but only " +
                  std::to_string(available >> 20) +
                  " MiB are available; stream it instead (evlib::Reader::next, evlib::scan(...).batches(), "
                  "or the CLI's streaming commands)");
    }
  }
  try {
    rec.events = EventBatch::with_capacity(bound);
  } catch (const std::bad_alloc&) {
    rec.events = EventBatch::with_capacity(format.upper_bound_events());
  }
  rec.events.metadata = rec.metadata;
  std::optional<Prefaulter> prefaulter;
  if (options.prefault_thread && usable_cores() > 1) prefaulter.emplace(rec.events);
  constexpr std::size_t kStep = std::size_t{1} << 20;
  bool more = true;
  while (more) {
    more = format.fill(rec.events, rec.triggers, rec.events.size() + kStep);
    if (prefaulter) {
      const std::uint64_t total = rec.metadata->file_size > rec.metadata->data_offset
                                      ? rec.metadata->file_size - rec.metadata->data_offset
                                      : 0;
      const std::uint64_t done = format.bytes_done() - std::min(format.bytes_done(), rec.metadata->data_offset);
      prefaulter->decoded(rec.events.size(), total ? static_cast<double>(done) / static_cast<double>(total) : 0.0);
    }
    if (more && rec.events.size() + 32 > rec.events.capacity()) {
      // The bound was exceeded (cannot happen for a correct bound); grow once, generously.
      prefaulter.reset();
      EventBatch bigger = EventBatch::with_capacity(rec.events.capacity() * 2 + 1024);
      std::copy_n(rec.events.t().data(), rec.events.size(), bigger.t_data());
      std::copy_n(rec.events.x().data(), rec.events.size(), bigger.x_data());
      std::copy_n(rec.events.y().data(), rec.events.size(), bigger.y_data());
      std::copy_n(rec.events.p().data(), rec.events.size(), bigger.p_data());
      bigger.set_size(rec.events.size());
      bigger.metadata = rec.metadata;
      rec.events = std::move(bigger);
    }
  }
  prefaulter.reset();
  if (options.filter.active() && !format.pushes_down_filter()) options.filter.apply(rec.events);
  rec.stats = format.stats();
  reader.impl_->metadata->time_shift = format.time_shift();
  return rec;
}

Metadata read_metadata(const std::string& path, const ReadOptions& options) {
  return Reader::open(path, options).metadata();
}

std::string detect_format(const std::string& path) {
  detail::ByteSource source(path, 0);
  const auto prefix = source.prefix(detail::kPrefixBytes);
  return detail::find_format(path, prefix, ReadOptions{}).name;
}

}  // namespace evlib
