#include "evlib/error.hpp"
#include "evlib/formats.hpp"
#include "evlib/writer.hpp"
#include "formats/common/encoder.hpp"
#include "io/format_reader.hpp"

namespace evlib {

struct Writer::Impl {
  std::unique_ptr<detail::AtomicFile> file;
  std::unique_ptr<detail::EventEncoder> encoder;
  std::uint64_t events = 0;
  bool closed = false;
};

Writer::Writer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Writer::~Writer() = default;
Writer::Writer(Writer&&) noexcept = default;
Writer& Writer::operator=(Writer&&) noexcept = default;

Writer Writer::create(const std::string& path, const WriteOptions& options) {
  const detail::WriteChoice choice = detail::find_write_target(path, options.format);
  if (choice.format->traits.geometry == GeometryNeed::required && (options.width == 0 || options.height == 0)) {
    throw InvalidArgument(path + ": " + choice.format->name +
                          " files need the sensor geometry (width and height) in their header");
  }
  auto impl = std::make_unique<Impl>();
  impl->encoder = choice.target->make(options);
  impl->file = std::make_unique<detail::AtomicFile>(path, options.overwrite);
  impl->encoder->begin(*impl->file);
  return Writer(std::move(impl));
}

void Writer::write(const EventBatch& events, const TriggerBatch& triggers) {
  if (impl_->closed) throw InvalidArgument("Writer::write after close");
  impl_->encoder->encode(events, triggers, *impl_->file);
  impl_->events += events.size();
}

void Writer::close() {
  if (impl_->closed) return;
  impl_->encoder->end(*impl_->file);
  impl_->file->commit();
  impl_->closed = true;
}

std::uint64_t Writer::events_written() const { return impl_->events; }

}  // namespace evlib
