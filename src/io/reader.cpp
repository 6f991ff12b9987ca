#include "evlib/reader.hpp"

#include <algorithm>
#include <new>

#include "evlib/error.hpp"
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

Reader Reader::open(const std::string& path, const ReadOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->options.chunk_events = std::max(options.chunk_events, kMinChunkEvents);
  const auto prefix = detail::read_prefix(path, detail::kPrefixBytes);
  const detail::FormatDescriptor& format = detail::find_format(path, prefix, options);
  impl->metadata = std::make_shared<Metadata>();
  impl->metadata->path = path;
  impl->metadata->file_size = detail::file_size(path);
  impl->format = format.open(path, prefix, options, *impl->metadata);
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
  while (more && impl_->buffer.size() + 32 <= impl_->buffer.capacity()) {
    more = impl_->format->fill(impl_->buffer, chunk.triggers);
  }
  if (!more) impl_->done = true;
  chunk.bytes_done = impl_->format->bytes_done();
  if (impl_->buffer.empty() && chunk.triggers.empty() && impl_->done) return std::nullopt;
  chunk.events = impl_->buffer;
  return chunk;
}

Recording read(const std::string& path, const ReadOptions& options) {
  Reader reader = Reader::open(path, options);
  Recording rec;
  rec.metadata = reader.shared_metadata();
  detail::FormatReader& format = *reader.impl_->format;
  // Reserve address space for the loosest bound (untouched pages cost nothing, so this is free
  // when the kernel allows overcommit) and fall back to a counting pass when it does not.
  try {
    rec.events = EventBatch::with_capacity(format.loose_upper_bound_events());
  } catch (const std::bad_alloc&) {
    rec.events = EventBatch::with_capacity(format.upper_bound_events());
  }
  rec.events.metadata = rec.metadata;
  while (format.fill(rec.events, rec.triggers)) {
    if (rec.events.size() + 32 > rec.events.capacity()) {
      // The bound was exceeded (cannot happen for a correct bound); grow once, generously.
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
  rec.stats = format.stats();
  return rec;
}

Metadata read_metadata(const std::string& path, const ReadOptions& options) {
  return Reader::open(path, options).metadata();
}

std::string detect_format(const std::string& path) {
  const auto prefix = detail::read_prefix(path, detail::kPrefixBytes);
  return detail::find_format(path, prefix, ReadOptions{}).name;
}

std::vector<std::string> supported_formats() {
  std::vector<std::string> names;
  for (const auto& f : detail::registry()) names.emplace_back(f.name);
  return names;
}

}  // namespace evlib
