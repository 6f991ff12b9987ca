// The "hdf5" format: detection, layout, metadata and the pull-based chunk reader (hdf5.hpp).
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>

#include "evlib/error.hpp"
#include "formats/hdf5/hdf5.hpp"
#include "formats/hdf5/hdf5_sources.hpp"
#include "formats/hdf5/hdf5_util.hpp"

namespace evlib::detail {

const char* layout_name(Hdf5Layout layout) noexcept {
  switch (layout) {
    case Hdf5Layout::prophesee: return "prophesee";
    case Hdf5Layout::generic: return "generic";
    case Hdf5Layout::dsec: return "dsec";
    case Hdf5Layout::matrix: return "matrix";
    case Hdf5Layout::mvsec: return "mvsec";
  }
  return "unknown";
}

namespace {

using h5::Handle;
using hdf5::Context;

constexpr std::uint32_t kNoBound = 0x10000;               // coordinate bound when the geometry is unknown
constexpr std::size_t kMaxStep = std::size_t{1} << 20;    // events per read step (bounds staging memory)
constexpr std::size_t kTriggerBlock = 4096;               // triggers read at a time

[[noreturn]] void fail(const Context& ctx, const std::string& detail) {
  throw FormatError(ctx.path, FormatError::kNoOffset, detail);
}

[[noreturn]] void fail_h5(const Context& ctx, const std::string& detail) {
  const std::string why = h5::error_message();
  fail(ctx, why.empty() ? detail : detail + ": " + why);
}

Handle open_file(const Context& ctx) {
  Handle fapl = h5::plist_handle(H5Pcreate(H5P_FILE_ACCESS));
  // Lock where the file system supports it; do not fail where it does not (NFS, read-only media).
  H5Pset_file_locking(fapl.get(), true, true);
  // Standard input redirected from a file (a pipe is refused before this): HDF5 opens by name.
  const std::string name = ctx.path == "-" ? "/dev/stdin" : ctx.path;
  Handle file = h5::file_handle(H5Fopen(name.c_str(), H5F_ACC_RDONLY, fapl.get()));
  if (!file) fail_h5(ctx, "not a readable HDF5 file");
  return file;
}

// --- layout detection ---

struct Found {
  Hdf5Layout layout = Hdf5Layout::generic;
  std::string events;  // the group or dataset holding the events
  std::unique_ptr<hdf5::EventSource> source;
  std::unique_ptr<hdf5::TriggerSource> triggers;
  std::string triggers_name;
  std::int64_t t_offset = 0;  // DSEC: added to every stored time
  bool has_t_offset = false;
  bool has_ms_to_idx = false;
};

// Dataset names seen in the wild for each column (docs/formats.md 8), first match wins.
constexpr const char* kTimeNames[] = {"t", "ts", "timestamps", "timestamp", "time"};
constexpr const char* kXNames[] = {"x", "xs", "x_pos"};
constexpr const char* kYNames[] = {"y", "ys", "y_pos"};
constexpr const char* kPolarityNames[] = {"p", "ps", "polarity", "polarities", "pol"};

std::string child(const std::string& group, const std::string& name) {
  return group == "/" ? "/" + name : group + "/" + name;
}

template <std::size_t N>
std::optional<std::string> find_dataset(hid_t file, const std::string& group, const char* const (&names)[N]) {
  for (const char* name : names) {
    const std::string path = child(group, name);
    if (h5::object_type(file, path) == H5O_TYPE_DATASET) return path;
  }
  return std::nullopt;
}

// 1-D event columns in `group`. Inside /events, a partial set is an error worth naming; at the
// root, unrelated datasets called "x" or "t" are common, so a partial set just does not match.
bool find_columns(const Context& ctx, hid_t file, const std::string& group, Found& found) {
  const auto t = find_dataset(file, group, kTimeNames);
  const auto x = find_dataset(file, group, kXNames);
  const auto y = find_dataset(file, group, kYNames);
  const auto p = find_dataset(file, group, kPolarityNames);
  if (!(t && x && y && p)) {
    if (group == "/" || (!t && !x && !y && !p)) return false;
    std::string missing;
    if (!t) missing += " time (t, ts, timestamps)";
    if (!x) missing += " x (x, xs, x_pos)";
    if (!y) missing += " y (y, ys, y_pos)";
    if (!p) missing += " polarity (p, ps, polarity, polarities)";
    fail(ctx, "group " + group + " has event datasets but no" + missing);
  }
  found.events = group;
  found.source = hdf5::make_column_source(ctx, file, group, *t, *x, *y, *p);
  return true;
}

std::optional<std::string> first_matrix(hid_t file, std::initializer_list<const char*> names) {
  for (const char* name : names) {
    if (h5::object_type(file, name) == H5O_TYPE_DATASET) return std::string(name);
  }
  return std::nullopt;
}

Found detect_layout(const Context& ctx, hid_t file) {
  Found found;
  if (h5::object_type(file, "/CD/events") == H5O_TYPE_DATASET) {
    found.layout = Hdf5Layout::prophesee;
    found.events = "/CD/events";
    found.source = hdf5::make_prophesee_source(ctx, file, found.events);
    if (h5::object_type(file, "/EXT_TRIGGER/events") == H5O_TYPE_DATASET) {
      found.triggers_name = "/EXT_TRIGGER/events";
      found.triggers = hdf5::make_prophesee_triggers(ctx, file, found.triggers_name);
    }
    return found;
  }
  const H5O_type_t events_type = h5::object_type(file, "/events");
  if ((events_type == H5O_TYPE_GROUP && find_columns(ctx, file, "/events", found)) ||
      find_columns(ctx, file, "/", found)) {
    found.has_ms_to_idx = h5::object_type(file, "/ms_to_idx") == H5O_TYPE_DATASET;
    if (const auto offset = h5::scalar_dataset_int64(file, "/t_offset")) {
      found.t_offset = *offset;
      found.has_t_offset = true;
    }
    found.layout = found.has_ms_to_idx || found.has_t_offset ? Hdf5Layout::dsec : Hdf5Layout::generic;
    if (h5::object_type(file, "/triggers/t") == H5O_TYPE_DATASET) {
      found.triggers_name = "/triggers";
      found.triggers = hdf5::make_column_triggers(ctx, file, found.triggers_name);
    }
    return found;
  }
  if (events_type == H5O_TYPE_DATASET) {
    // A single N x 4 dataset with columns (t, x, y, p).
    found.layout = Hdf5Layout::matrix;
    found.events = "/events";
    found.source = hdf5::make_matrix_source(ctx, file, found.events, 0, 1, 2, 3);
    return found;
  }
  if (const auto name = first_matrix(file, {"/davis/left/events", "/davis/right/events"})) {
    // MVSEC: N x 4 float64 with columns (x, y, t, p), t in seconds.
    found.layout = Hdf5Layout::mvsec;
    found.events = *name;
    found.source = hdf5::make_matrix_source(ctx, file, found.events, 2, 0, 1, 3);
    return found;
  }
  fail(ctx, "no events found: expected /CD/events, /events/{t,x,y,p} (or ts/xs/ys/ps, timestamps/x_pos/y_pos/"
            "polarity), the same at the root, an N x 4 /events, or /davis/left/events");
}

// --- geometry and header ---

struct Geometry {
  std::uint32_t width = 0;
  std::uint32_t height = 0;
};

std::optional<std::uint32_t> dimension(double v) {
  if (!(v >= 1 && v <= 65536) || v != std::floor(v)) return std::nullopt;
  return static_cast<std::uint32_t>(v);
}

std::optional<std::uint32_t> single_dimension(const std::optional<std::vector<double>>& values) {
  if (!values || values->size() != 1) return std::nullopt;
  return dimension(values->front());
}

// "1280x720" (Metavision's `geometry`).
std::optional<Geometry> parse_geometry(const std::string& text) {
  const auto sep = text.find_first_of("xX");
  if (sep == std::string::npos) return std::nullopt;
  unsigned w = 0, h = 0;
  const char* end = text.data() + text.size();
  const auto a = std::from_chars(text.data(), text.data() + sep, w);
  const auto b = std::from_chars(text.data() + sep + 1, end, h);
  if (a.ec != std::errc() || a.ptr != text.data() + sep || b.ec != std::errc() || b.ptr != end) return std::nullopt;
  const auto wd = dimension(w), hd = dimension(h);
  if (!wd || !hd) return std::nullopt;
  return Geometry{*wd, *hd};
}

// In order: width/height attributes, width/height scalar datasets, `geometry` "WxH", then
// `sensor_resolution` (height, width) as event_utils writes it. {0, 0} when none says.
Geometry find_geometry(hid_t file, const Found& found) {
  std::vector<Handle> objects;
  objects.push_back(h5::Handle(H5Oopen(file, "/", H5P_DEFAULT), H5Oclose));
  const bool events_is_group = found.events != "/" && h5::object_type(file, found.events) == H5O_TYPE_GROUP;
  if (events_is_group) objects.push_back(h5::Handle(H5Oopen(file, found.events.c_str(), H5P_DEFAULT), H5Oclose));
  for (const Handle& o : objects) {
    const auto w = single_dimension(h5::attribute_numbers(o.get(), "width"));
    const auto h = single_dimension(h5::attribute_numbers(o.get(), "height"));
    if (w && h) return {*w, *h};
  }
  for (const std::string& group : {events_is_group ? found.events : std::string("/"), std::string("/")}) {
    const auto w = h5::scalar_dataset(file, child(group, "width"));
    const auto h = h5::scalar_dataset(file, child(group, "height"));
    if (w && h && dimension(*w) && dimension(*h)) return {*dimension(*w), *dimension(*h)};
  }
  for (const Handle& o : objects) {
    if (H5Aexists(o.get(), "geometry") > 0) {
      Handle attr = h5::attribute_handle(H5Aopen(o.get(), "geometry", H5P_DEFAULT));
      if (const auto text = attr ? h5::attribute_text(attr.get()) : std::nullopt) {
        if (const auto g = parse_geometry(*text)) return *g;
      }
    }
    const auto res = h5::attribute_numbers(o.get(), "sensor_resolution");
    if (res && res->size() == 2 && dimension((*res)[0]) && dimension((*res)[1])) {
      return {*dimension((*res)[1]), *dimension((*res)[0])};
    }
  }
  H5Eclear2(H5E_DEFAULT);
  return {};
}

std::int64_t parse_time_shift(const Metadata& metadata) {
  const std::string* v = metadata.header_value("time_shift");
  if (v == nullptr) return 0;
  std::int64_t shift = 0;
  const auto r = std::from_chars(v->data(), v->data() + v->size(), shift);
  return r.ec == std::errc() && r.ptr == v->data() + v->size() ? shift : 0;
}

// --- the reader ---

class Hdf5Reader final : public Hdf5FormatReader {
 public:
  Hdf5Reader(Context ctx, Handle file, Found found, Geometry bounds, std::int64_t time_offset, std::int64_t shift,
             bool strict, std::uint64_t file_size)
      : ctx_(std::move(ctx)), file_(std::move(file)), found_(std::move(found)),
        width_(bounds.width ? bounds.width : kNoBound), height_(bounds.height ? bounds.height : kNoBound),
        offset_(time_offset), shift_(shift), strict_(strict), file_size_(file_size),
        stride_(std::max<std::uint64_t>(1, file_size / std::max<std::uint64_t>(1, found_.source->size()))),
        end_event_(found_.source->size()) {}

  using FormatReader::fill;
  bool fill(EventBatch& batch, TriggerBatch& triggers, std::size_t limit) override {
    h5::QuietErrors quiet;
    hdf5::EventSource& source = *found_.source;
    const std::size_t cap = std::min(batch.capacity(), std::max(limit, batch.size()));
    std::size_t size = batch.size();
    while (size < cap && source.position() < end_event_) {
      const std::uint64_t first = source.position();
      const auto n = static_cast<std::size_t>(std::min<std::uint64_t>({cap - size, kMaxStep, end_event_ - first}));
      hdf5::Slice s{batch.t_data() + size, batch.x_data() + size, batch.y_data() + size, batch.p_data() + size, nullptr};
      if (source.may_flag()) {
        invalid_.assign(n, 0);
        s.invalid = invalid_.data();
      }
      std::size_t flagged = 0;
      const std::size_t got = source.read(s, n, flagged);
      stats_.words += got;
      const std::size_t kept = accept(s, got, flagged, first);
      if (kept == 0) continue;
      if (resync_triggers_) resync_triggers(s.t[0]);
      last_time_ = s.t[kept - 1];
      size += kept;
      deliver_triggers(triggers, false);
    }
    batch.set_size(size);
    const bool done = source.position() >= end_event_;
    // At the end of the file every remaining trigger follows; at a segment's end (set_end) only
    // those up to its last event, the rest belong to the next segment.
    if (done) deliver_triggers(triggers, end_event_ == source.size());
    if (strict_ && stats_.corrupt() != 0) {
      throw FormatError(ctx_.path, stats_.first_error_offset, stats_.first_error + " (strict mode)");
    }
    return !done;
  }

  const DecodeStats& stats() const override { return stats_; }
  std::size_t upper_bound_events() override {
    return static_cast<std::size_t>(found_.source->size() - found_.source->position());
  }
  // Events are addressed by index; as a "file offset" (progress, time index) event i is i times
  // the mean bytes per event, rounded down so that the mapping is exact both ways.
  std::uint64_t bytes_done() const override { return offset_of(found_.source->position()); }
  bool can_snapshot() const override { return true; }
  // The next event and the next trigger (all earlier ones are delivered): where to resume.
  std::string snapshot() const override {
    const std::uint64_t trigger = trigger_next_ - (pending_.size() - pending_pos_);
    return encode_position(found_.source->position(), resync_triggers_ ? kTriggerBySearch : trigger);
  }
  void resume(const std::string& snapshot, std::uint64_t) override {
    std::uint64_t at[2];
    if (snapshot.size() != sizeof at) throw InvalidArgument("snapshot does not fit this HDF5 reader");
    std::memcpy(at, snapshot.data(), sizeof at);
    seek_event(at[0]);
    end_event_ = found_.source->size();
    stats_ = {};  // counters restart with the segment, as for the other formats
    if (at[1] != kTriggerBySearch) {
      resync_triggers_ = false;
      trigger_next_ = at[1];
    }
  }
  void set_end(std::uint64_t offset) override { end_event_ = event_at(offset); }
  std::optional<TimeIndex> native_index() override;
  std::int64_t time_shift() const override { return shift_; }

  Hdf5Layout layout() const override { return found_.layout; }
  std::uint64_t event_count() const override { return found_.source->size(); }
  std::uint64_t next_event() const override { return found_.source->position(); }
  void seek_event(std::uint64_t index) override {
    found_.source->seek(index);
    pending_.clear();
    pending_pos_ = 0;
    trigger_next_ = 0;
    resync_triggers_ = index != 0;
  }

 private:
  static constexpr std::uint64_t kTriggerBySearch = ~std::uint64_t{0};
  static std::string encode_position(std::uint64_t event, std::uint64_t trigger) {
    const std::uint64_t at[2] = {event, trigger};
    return {reinterpret_cast<const char*>(at), sizeof at};
  }
  std::uint64_t offset_of(std::uint64_t event) const {
    return event >= found_.source->size() ? file_size_ : event * stride_;
  }
  std::uint64_t event_at(std::uint64_t offset) const {
    return offset >= file_size_ ? found_.source->size() : std::min(found_.source->size(), offset / stride_);
  }
  // The stored time of event i plus the offset (the read position is left at i + 1).
  std::int64_t time_of_event(std::uint64_t i);
  // What a file's own index says: events before `event` are earlier than `before`, events from
  // `event` on are at `from` or later (times as the reader outputs them).
  struct TimeBound {
    std::uint64_t event;
    std::int64_t before;
    std::int64_t from;
  };
  std::vector<TimeBound> dsec_bounds();       // from /ms_to_idx
  std::vector<TimeBound> prophesee_bounds();  // from /CD/indexes

  // Applies the time offset and drops (and counts) events that are flagged or outside the
  // geometry; returns how many remain at the front of s.
  std::size_t accept(const hdf5::Slice& s, std::size_t n, std::size_t flagged, std::uint64_t first) {
    if (offset_ != 0) {
      // Unsigned: a hostile offset must wrap, not overflow (UB).
      const auto off = static_cast<std::uint64_t>(offset_);
      for (std::size_t i = 0; i < n; ++i) s.t[i] = static_cast<std::int64_t>(static_cast<std::uint64_t>(s.t[i]) + off);
    }
    const bool bounded = width_ < kNoBound || height_ < kNoBound;
    if (flagged == 0 && (!bounded || inside(s, n))) return n;
    std::size_t kept = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const bool bad = flagged != 0 && s.invalid[i] != 0;
      if (!bad && s.x[i] < width_ && s.y[i] < height_) {
        s.t[kept] = s.t[i];
        s.x[kept] = s.x[i];
        s.y[kept] = s.y[i];
        s.p[kept] = s.p[i];
        ++kept;
        continue;
      }
      ++stats_.out_of_bounds;
      if (stats_.first_error.empty()) {
        stats_.first_error_offset = FormatError::kNoOffset;
        stats_.first_error = "event " + std::to_string(first + i) + " of " + found_.source->name() +
                             (bad ? ": a stored value is not representable (NaN, negative or out of range)"
                                  : ": (" + std::to_string(s.x[i]) + ", " + std::to_string(s.y[i]) + ") outside the " +
                                        std::to_string(width_) + "x" + std::to_string(height_) + " sensor");
      }
    }
    return kept;
  }

  bool inside(const hdf5::Slice& s, std::size_t n) const {
    std::uint16_t mx = 0, my = 0;
    for (std::size_t i = 0; i < n; ++i) {
      mx = std::max(mx, s.x[i]);
      my = std::max(my, s.y[i]);
    }
    return mx < width_ && my < height_;
  }

  // Triggers come from their own table; each is handed out with the chunk whose last event is
  // not earlier than it (the writers' order: a trigger follows events of equal time).
  void deliver_triggers(TriggerBatch& out, bool all) {
    if (!found_.triggers) return;
    hdf5::TriggerSource& table = *found_.triggers;
    if (all && resync_triggers_) return;  // sought past the last event: no trigger follows
    for (;;) {
      if (pending_pos_ == pending_.size()) {
        if (trigger_next_ >= table.size()) return;
        pending_.clear();
        pending_pos_ = 0;
        const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(kTriggerBlock, table.size() - trigger_next_));
        table.read(trigger_next_, n, pending_);
        trigger_next_ += n;
        for (auto& t : pending_.t) t = static_cast<std::int64_t>(static_cast<std::uint64_t>(t) + static_cast<std::uint64_t>(offset_));
      }
      const std::int64_t t = pending_.t[pending_pos_];
      if (!all && t > last_time_) return;
      out.push_back(t, pending_.channel[pending_pos_], pending_.value[pending_pos_]);
      ++pending_pos_;
    }
  }

  // After a seek: the first trigger not earlier than the first event read (binary search).
  void resync_triggers(std::int64_t first_time) {
    resync_triggers_ = false;
    if (!found_.triggers) return;
    hdf5::TriggerSource& table = *found_.triggers;
    std::uint64_t lo = 0, hi = table.size();
    TriggerBatch one;
    while (lo < hi) {
      const std::uint64_t mid = lo + (hi - lo) / 2;
      one.clear();
      table.read(mid, 1, one);
      const auto t = static_cast<std::int64_t>(static_cast<std::uint64_t>(one.t[0]) + static_cast<std::uint64_t>(offset_));
      if (t < first_time) lo = mid + 1;
      else hi = mid;
    }
    trigger_next_ = lo;
    pending_.clear();
    pending_pos_ = 0;
  }

  Context ctx_;
  Handle file_;  // declared before found_: the datasets close before the file
  Found found_;
  std::uint32_t width_, height_;
  std::int64_t offset_;  // added to every stored time: DSEC's t_offset minus the Metavision shift
  std::int64_t shift_;
  bool strict_;
  std::uint64_t file_size_;
  std::uint64_t stride_;     // bytes_done() per event
  std::uint64_t end_event_;  // fill() stops here (set_end)
  DecodeStats stats_;
  std::vector<std::uint8_t> invalid_;
  std::int64_t last_time_ = INT64_MIN;
  TriggerBatch pending_;
  std::size_t pending_pos_ = 0;
  std::uint64_t trigger_next_ = 0;
  bool resync_triggers_ = false;
};

std::int64_t Hdf5Reader::time_of_event(std::uint64_t i) {
  std::int64_t t = 0;
  std::uint16_t x = 0, y = 0;
  std::uint8_t p = 0, invalid = 0;
  found_.source->seek(i);
  std::size_t flagged = 0;
  if (found_.source->read(hdf5::Slice{&t, &x, &y, &p, found_.source->may_flag() ? &invalid : nullptr}, 1, flagged) != 1) {
    throw FormatError(ctx_.path, FormatError::kNoOffset, "cannot read event " + std::to_string(i));
  }
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(t) + static_cast<std::uint64_t>(offset_));
}

std::optional<TimeIndex> Hdf5Reader::native_index() {
  if (found_.source->position() != 0) return std::nullopt;
  h5::QuietErrors quiet;
  std::vector<TimeBound> bounds;
  try {
    bounds = found_.has_ms_to_idx ? dsec_bounds() : found_.layout == Hdf5Layout::prophesee ? prophesee_bounds()
                                                                                            : std::vector<TimeBound>{};
  } catch (const Error&) {
    return std::nullopt;  // an unreadable index: the first pass builds one instead
  }
  if (bounds.empty()) return std::nullopt;
  const std::uint64_t count = found_.source->size();
  for (std::size_t k = 0; k < bounds.size(); ++k) {
    if (bounds[k].event > count || (k > 0 && bounds[k].event < bounds[k - 1].event)) return std::nullopt;
  }
  // Spot check at up to 17 bounds spread over the file: the events on either side of each must
  // lie on the right side of it. A file that fails is indexed by a pass instead.
  bool trusted = true;
  try {
    for (std::size_t k = 0; k <= 16 && trusted; ++k) {
      const TimeBound& b = bounds[(bounds.size() - 1) * k / 16];
      trusted = (b.event == 0 || time_of_event(b.event - 1) < b.before) && (b.event == count || time_of_event(b.event) >= b.from);
    }
  } catch (const Error&) {
    trusted = false;
  }
  seek_event(0);  // where the reader was
  if (!trusted) return std::nullopt;
  // Bounds grouped into segments of about 64 Ki events: [bounds[a].event, bounds[b].event) holds
  // times in [bounds[a].from, bounds[b].before); the first segment starts at event 0 and may
  // hold earlier times, the last ends at the last event and may hold later ones.
  constexpr std::uint64_t kSegmentEvents = std::uint64_t{1} << 16;
  TimeIndex index;
  index.end_offset = offset_of(count);
  std::uint64_t from_event = 0;
  std::int64_t t_min = std::numeric_limits<std::int64_t>::min();
  for (const TimeBound& b : bounds) {
    if (b.event - from_event < kSegmentEvents) continue;
    IndexEntry e;
    e.offset = offset_of(from_event);
    e.state = encode_position(from_event, kTriggerBySearch);
    e.events = b.event - from_event;
    e.t_min = t_min;
    e.t_max = b.before - 1;
    index.entries.push_back(std::move(e));
    from_event = b.event;
    t_min = b.from;
  }
  IndexEntry last;
  last.offset = offset_of(from_event);
  last.state = encode_position(from_event, kTriggerBySearch);
  last.events = count - from_event;
  last.t_min = t_min;
  last.t_max = std::numeric_limits<std::int64_t>::max();
  index.entries.push_back(std::move(last));
  return index;
}

std::vector<Hdf5Reader::TimeBound> Hdf5Reader::dsec_bounds() {
  const std::optional<MillisecondIndex> ms = read_millisecond_index(ctx_.path);
  std::vector<TimeBound> bounds;
  if (!ms) return bounds;
  // first_event[m]: the first event at or after m ms from t_offset (which offset_ adds).
  for (std::size_t m = 0; m < ms->first_event.size(); ++m) {
    const std::int64_t t = offset_ + static_cast<std::int64_t>(m) * 1000;
    bounds.push_back({ms->first_event[m], t, t});
  }
  return bounds;
}

std::vector<Hdf5Reader::TimeBound> Hdf5Reader::prophesee_bounds() {
  std::vector<TimeBound> bounds;
  if (h5::object_type(file_.get(), "/CD/indexes") != H5O_TYPE_DATASET) return bounds;
  Handle ds = h5::dataset_handle(H5Dopen2(file_.get(), "/CD/indexes", H5P_DEFAULT));
  if (!ds) return bounds;
  // Attribute `offset`: minus the first event's stored time; entries' ts are relative to it.
  std::optional<std::int64_t> offset;
  for (const auto& [name, value] : h5::attributes_as_text(ds.get())) {
    std::int64_t v = 0;
    const auto r = std::from_chars(value.data(), value.data() + value.size(), v);
    if (name == "offset" && r.ec == std::errc() && r.ptr == value.data() + value.size()) offset = v;
  }
  const auto dims = h5::dimensions(ds.get());
  if (!offset || dims.size() != 1 || dims[0] < 2) return bounds;
  struct Entry {
    std::uint64_t id;
    std::int64_t ts;
  };
  Handle type = h5::type_handle(H5Tcreate(H5T_COMPOUND, sizeof(Entry)));
  H5Tinsert(type.get(), "id", HOFFSET(Entry, id), H5T_NATIVE_UINT64);
  H5Tinsert(type.get(), "ts", HOFFSET(Entry, ts), H5T_NATIVE_INT64);
  std::vector<Entry> entries(static_cast<std::size_t>(dims[0]));
  if (H5Dread(ds.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, entries.data()) < 0) return bounds;
  // docs/formats.md 7.1: entry k >= 1 is a lower bound for 2000 µs periods: every event at least
  // (k - 1) * 2000 µs after the first is at index >= id, and the event at id is at ts.
  const std::int64_t base = offset_ - *offset;  // stored time of the first event, plus offset_
  for (std::size_t k = 1; k < entries.size(); ++k) {
    if (entries[k].ts < 0) return {};
    bounds.push_back({entries[k].id, base + static_cast<std::int64_t>(k - 1) * 2000, base + entries[k].ts});
  }
  return bounds;
}

void describe_layout(const Found& found, Metadata& metadata) {
  metadata.header.emplace_back("hdf5.layout", layout_name(found.layout));
  metadata.header.emplace_back("hdf5.events", found.events);
  metadata.header.emplace_back("hdf5.time_unit", found.source->time_unit());
  if (found.triggers) metadata.header.emplace_back("hdf5.triggers", found.triggers_name);
  if (found.has_t_offset) metadata.header.emplace_back("hdf5.t_offset", std::to_string(found.t_offset));
  if (found.has_ms_to_idx) metadata.header.emplace_back("hdf5.ms_to_idx", "/ms_to_idx");
}

std::unique_ptr<FormatReader> open_hdf5(std::unique_ptr<ByteSource> source, const std::vector<std::uint8_t>&,
                                        const ReadOptions& options, Metadata& metadata) {
  Context ctx{source->path()};
  if (!source->seekable()) {
    fail(ctx, "HDF5 files need random access: read this one from a regular file, not a pipe");
  }
  const std::uint64_t file_size = source->size();
  source.reset();  // HDF5 opens the file itself
  h5::QuietErrors quiet;
  Handle file = open_file(ctx);
  Found found = detect_layout(ctx, file.get());
  {
    Handle root = h5::Handle(H5Oopen(file.get(), "/", H5P_DEFAULT), H5Oclose);
    metadata.header = h5::attributes_as_text(root.get());
  }
  describe_layout(found, metadata);
  const Geometry geometry = find_geometry(file.get(), found);
  metadata.format = "hdf5";
  metadata.width = options.width != 0 ? options.width : geometry.width;
  metadata.height = options.height != 0 ? options.height : geometry.height;
  metadata.data_offset = 0;  // events live in datasets, not at one byte offset
  const std::int64_t shift =
      options.metavision_time_shift && found.layout == Hdf5Layout::prophesee ? parse_time_shift(metadata) : 0;
  const std::int64_t offset = found.t_offset - shift;
  return std::make_unique<Hdf5Reader>(std::move(ctx), std::move(file), std::move(found),
                                      Geometry{metadata.width, metadata.height}, offset, shift, options.strict,
                                      file_size);
}

}  // namespace

FormatDecoder hdf5_decoder() { return {&sniff_hdf5, &open_hdf5}; }

std::optional<MillisecondIndex> read_millisecond_index(const std::string& path) {
  const Context ctx{path};
  h5::QuietErrors quiet;
  Handle file = open_file(ctx);
  if (h5::object_type(file.get(), "/ms_to_idx") != H5O_TYPE_DATASET) return std::nullopt;
  Handle ds = h5::dataset_handle(H5Dopen2(file.get(), "/ms_to_idx", H5P_DEFAULT));
  if (!ds) fail_h5(ctx, "cannot open dataset /ms_to_idx");
  const auto dims = h5::dimensions(ds.get());
  if (dims.size() != 1) fail(ctx, "dataset /ms_to_idx is not one-dimensional");
  MillisecondIndex index;
  index.dataset = "/ms_to_idx";
  index.t_offset = h5::scalar_dataset_int64(file.get(), "/t_offset").value_or(0);
  index.first_event.resize(static_cast<std::size_t>(dims[0]));
  if (!index.first_event.empty() &&
      H5Dread(ds.get(), H5T_NATIVE_UINT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, index.first_event.data()) < 0) {
    fail_h5(ctx, "cannot read dataset /ms_to_idx");
  }
  return index;
}

}  // namespace evlib::detail
