#include <algorithm>

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

namespace {

// Header keys and values are lines or attributes in every format: an empty key or a control
// character (a line break would start a header line of its own) is refused for all of them.
void check_header(const std::string& path, const WriteOptions& options) {
  const auto controlled = [](const std::string& s) {
    for (const char c : s)
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) return true;
    return false;
  };
  for (const auto& [key, value] : options.header) {
    if (key.empty()) throw InvalidArgument(path + ": header: an empty key (value '" + value + "')");
    if (controlled(key) || controlled(value))
      throw InvalidArgument(path + ": header: the key '" + key +
                            "' or its value holds a control character (a line break, a NUL, a tab...)");
  }
}

}  // namespace

Writer Writer::create(const std::string& path, const WriteOptions& options) {
  check_header(path, options);
  const detail::WriteChoice choice = detail::find_write_target(path, options.format);
  // An option the format has no place for is refused, not dropped (compression="gzip" wrote an
  // uncompressed .npz).
  const auto takes = [&](FormatOption option) {
    const auto& accepted = choice.format->write_options;
    return std::any_of(accepted.begin(), accepted.end(), [&](const detail::OptionSpec& o) { return o.option == option; });
  };
  if (!options.compression.empty() && options.compression != "none" && !takes(FormatOption::compression))
    throw InvalidArgument(path + ": " + choice.format->name + " files take no compression ('" + options.compression + "' given)");
  if (!options.header.empty() && !takes(FormatOption::header))
    throw InvalidArgument(path + ": " + choice.format->name + " files have no header for the keys given");
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
