#include <algorithm>
#include <cctype>

#include "evlib/error.hpp"
#include "evlib/writer.hpp"
#include "formats/common/encoder.hpp"

namespace evlib {

struct Writer::Impl {
  std::unique_ptr<detail::AtomicFile> file;
  std::unique_ptr<detail::EventEncoder> encoder;
  std::uint64_t events = 0;
  bool closed = false;
};

namespace {

std::string format_for(const std::string& path, const std::string& requested) {
  std::string f = requested;
  std::transform(f.begin(), f.end(), f.begin(), [](unsigned char c) { return std::tolower(c); });
  if (!f.empty()) return f;
  auto ends_with = [&](const char* ext) {
    const std::string e(ext);
    return path.size() >= e.size() && path.compare(path.size() - e.size(), e.size(), e) == 0;
  };
  if (ends_with(".raw")) return "evt3";
  if (ends_with(".dat")) return "dat";
  if (ends_with(".h5") || ends_with(".hdf5")) return "hdf5";
  if (ends_with(".aedat4")) return "aedat4";
  if (ends_with(".txt")) return "text";
  if (ends_with(".csv")) return "csv";
  if (ends_with(".npy")) return "npy";
  if (ends_with(".npz")) return "npz";
  throw InvalidArgument(path + ": cannot tell the output format from the extension; give one (" + [] {
    std::string s;
    for (const auto& n : writable_formats()) s += (s.empty() ? "" : ", ") + n;
    return s;
  }() + ")");
}

}  // namespace

std::vector<std::string> writable_formats() { return {"evt2", "evt3", "dat", "hdf5", "aedat4", "text", "csv", "npy", "npz"}; }

Writer::Writer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Writer::~Writer() = default;
Writer::Writer(Writer&&) noexcept = default;
Writer& Writer::operator=(Writer&&) noexcept = default;

Writer Writer::create(const std::string& path, const WriteOptions& options) {
  const std::string format = format_for(path, options.format);
  auto impl = std::make_unique<Impl>();
  if ((format == "evt3" || format == "evt2") && (options.width == 0 || options.height == 0)) {
    throw InvalidArgument(path + ": a RAW file needs the sensor geometry (width and height) in its header");
  }
  if (format == "evt3") {
    impl->encoder = detail::make_evt3_encoder(options);
  } else if (format == "evt2") {
    impl->encoder = detail::make_evt2_encoder(options);
  } else if (format == "dat") {
    impl->encoder = detail::make_dat_encoder(options);
  } else if (format == "hdf5") {
    impl->encoder = detail::make_hdf5_encoder(options);
  } else if (format == "aedat4") {
    impl->encoder = detail::make_aedat4_encoder(options);
  } else if (format == "text" || format == "csv") {
    impl->encoder = detail::make_text_encoder(options, format == "csv");
  } else if (format == "npy") {
    impl->encoder = detail::make_npy_encoder(options);
  } else if (format == "npz") {
    impl->encoder = detail::make_npz_encoder(options);
  } else {
    throw UnsupportedFormat(path, "cannot write format '" + format + "'");
  }
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
