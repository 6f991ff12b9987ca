// Metavision-compatible HDF5 writer (docs/formats.md 7.1 and 15.6), chosen with
// WriteOptions::compression = "ecf": /CD/events as 16-byte compound records in chunks of 16384,
// each chunk one ECF block written with H5Dwrite_chunk; /CD/indexes, /EXT_TRIGGER/events and
// /EXT_TRIGGER/indexes; root attributes as variable-length strings (version 1.0, geometry WxH, the
// header). Like hdf5_writer.cpp it writes the AtomicFile's temporary path.
#include <cstring>
#include <functional>
#include <mutex>
#include <optional>
#include <utility>

#include "evlib/error.hpp"
#include "formats/prophesee/ecf.hpp"
#include "formats/common/encoder.hpp"
#include "formats/hdf5/hdf5.hpp"
#include "formats/hdf5/hdf5_write_support.hpp"

namespace evlib::detail {

namespace {

using h5::Handle;

constexpr H5Z_filter_t kEcfFilter = 36559;
constexpr hsize_t kChunk = 16384;                 // Metavision's chunk (and ECF block) size
constexpr std::int64_t kIndexPeriod = 2000;       // µs between index entries

// Decodes one ECF block into Metavision records (the filter's read direction).
std::size_t ecf_filter_decode(std::size_t nbytes, std::size_t* buf_size, void** buf) {
  const std::span<const std::uint8_t> block(static_cast<const std::uint8_t*>(*buf), nbytes);
  const auto n = ecf::block_event_count(block);
  if (!n) return 0;
  std::vector<std::int64_t> t(*n);
  std::vector<std::uint16_t> x(*n), y(*n);
  std::vector<std::uint8_t> p(*n);
  if (!ecf::decode(block, {t.data(), x.data(), y.data(), p.data()}, *n).ok()) return 0;
  const std::size_t out_bytes = std::max<std::size_t>(*n * 16, 16);
  auto* out = static_cast<std::uint8_t*>(H5allocate_memory(out_bytes, true));
  if (out == nullptr) return 0;
  for (std::size_t i = 0; i < *n; ++i) {
    const std::int16_t pol = p[i];
    std::memcpy(out + 16 * i, &x[i], 2);
    std::memcpy(out + 16 * i + 2, &y[i], 2);
    std::memcpy(out + 16 * i + 4, &pol, 2);
    std::memcpy(out + 16 * i + 8, &t[i], 8);
  }
  H5free_memory(*buf);
  *buf = out;
  *buf_size = out_bytes;
  return *n * 16;
}

// Encodes a whole chunk of records (the write direction, only used if someone writes through
// H5Dwrite; evlib writes blocks with H5Dwrite_chunk). A chunk ECF cannot hold (the unwritten
// tail of a short last chunk is zeros, so time decreases) fails, and HDF5 stores that chunk
// unfiltered, as the filter is optional.
std::size_t ecf_filter_encode(std::size_t nbytes, std::size_t* buf_size, void** buf) {
  const std::size_t n = nbytes / 16;
  if (n * 16 != nbytes || n > ecf::kMaxEvents) return 0;
  std::vector<std::int64_t> t(n);
  std::vector<std::uint16_t> x(n), y(n);
  std::vector<std::uint8_t> p(n);
  const auto* in = static_cast<const std::uint8_t*>(*buf);
  for (std::size_t i = 0; i < n; ++i) {
    std::int16_t pol;
    std::memcpy(&x[i], in + 16 * i, 2);
    std::memcpy(&y[i], in + 16 * i + 2, 2);
    std::memcpy(&pol, in + 16 * i + 4, 2);
    std::memcpy(&t[i], in + 16 * i + 8, 8);
    p[i] = pol > 0 ? 1 : 0;
  }
  std::vector<std::uint8_t> block;
  try {
    ecf::encode({t, x, y, p}, block);
  } catch (const std::exception&) {
    return 0;
  }
  auto* out = static_cast<std::uint8_t*>(H5allocate_memory(block.size(), false));
  if (out == nullptr) return 0;
  std::memcpy(out, block.data(), block.size());
  H5free_memory(*buf);
  *buf = out;
  *buf_size = block.size();
  return block.size();
}

// The ECF filter (id 36559), so that HDF5 accepts the pipeline and plain H5Dread works in this
// process (docs/formats.md 7.2). A C callback: nothing may throw through it.
std::size_t ecf_filter(unsigned flags, std::size_t, const unsigned[], std::size_t nbytes, std::size_t* buf_size,
                       void** buf) {
  try {
    return (flags & H5Z_FLAG_REVERSE) ? ecf_filter_decode(nbytes, buf_size, buf) : ecf_filter_encode(nbytes, buf_size, buf);
  } catch (...) {
    return 0;
  }
}

// HDF5 accepts a pipeline only with registered filters. Registered when missing (another
// component may have unregistered it); process-wide, like any HDF5 filter.
void ensure_ecf_filter_registered() {
  static std::mutex mutex;
  const std::lock_guard lock(mutex);
  if (H5Zfilter_avail(kEcfFilter) > 0) return;
  static const H5Z_class2_t filter = {H5Z_CLASS_T_VERS, kEcfFilter, 1, 1, "ECF (evlib)", nullptr, nullptr, ecf_filter};
  H5Zregister(&filter);
}

Handle compound(std::size_t size, std::initializer_list<std::tuple<const char*, std::size_t, hid_t>> members) {
  Handle t = h5::type_handle(H5Tcreate(H5T_COMPOUND, size));
  for (const auto& [name, offset, type] : members) H5Tinsert(t.get(), name, offset, type);
  return t;
}

// In-memory records, laid out exactly as stored (docs/formats.md 6).
struct CdRecord {
  std::uint16_t x, y;
  std::int16_t p, pad;
  std::int64_t t;
};
struct TriggerRecord {
  std::int16_t p, pad1[3];
  std::int64_t t;
  std::int16_t id, pad2[3];
};
struct IndexRecord {
  std::uint64_t id;
  std::int64_t ts;
};
static_assert(sizeof(CdRecord) == 16 && sizeof(TriggerRecord) == 24 && sizeof(IndexRecord) == 16);

// An extendable 1-D compound dataset in chunks of kChunk records (with the optional ECF filter
// for /CD/events), its groups created on the way. memory_type must outlive it.
h5::AppendDataset table(const std::string& path, hid_t file, const std::string& name, hid_t file_type, hid_t memory_type,
                        bool ecf) {
  Handle dcpl = h5::plist_handle(H5Pcreate(H5P_DATASET_CREATE));
  H5Pset_chunk(dcpl.get(), 1, &kChunk);
  if (ecf) H5Pset_filter(dcpl.get(), kEcfFilter, H5Z_FLAG_OPTIONAL, 0, nullptr);
  Handle lcpl = h5::plist_handle(H5Pcreate(H5P_LINK_CREATE));
  H5Pset_create_intermediate_group(lcpl.get(), 1);
  return h5::AppendDataset(path, file, name, file_type, memory_type, dcpl.get(), lcpl.get());
}

// Metavision's seek index of one stream (docs/formats.md 15.6): entries mark 2000 µs periods counted
// from the first event and point at the first event of an earlier period.
class PeriodIndex {
 public:
  // `spill` appends entries to the file's table and clears them: a long gap's entries go out
  // as they are made instead of piling up until the flush.
  PeriodIndex(const char* what, std::function<void(std::vector<IndexRecord>&)> spill)
      : what_(what), spill_(std::move(spill)) {}
  void add(std::uint64_t i, std::int64_t t) {
    if (!started_) {
      started_ = true;
      t_first_ = t;
    }
    std::int64_t r = 0;
    // Every period between two events takes an entry (16 bytes of the file): they were held until
    // the flush (two events 10^11 µs apart took 800 MB of memory, 2^63 µs std::bad_alloc). They
    // are spilled to the file as they are made now, and a gap past kMostEntriesPerGap (2^26
    // entries: 1 GiB of index, 37 hours) is refused, as the RAW writers refuse gaps that take
    // too many TIME_HIGH words.
    if (__builtin_sub_overflow(t, t_first_, &r) || r / kIndexPeriod + 1 - count_ > kMostEntriesPerGap) {
      throw InvalidArgument("ECF (Metavision HDF5): the gap before " + std::string(what_) + " " + std::to_string(i) + " at " +
                            std::to_string(t) + " us would take more than 2^26 index entries (one per 2000 us, 37 hours)");
    }
    while (r / kIndexPeriod + 1 > count_) {
      if (i != candidate_.id) last_ = candidate_;
      pending_.push_back(last_);
      if (pending_.size() >= kSpillEntries) [[unlikely]] spill_(pending_);
      ++count_;
      candidate_ = {i, r};
    }
  }
  void finish() {
    if (count_ > 0) pending_.push_back(candidate_);
  }
  std::vector<IndexRecord>& pending() { return pending_; }
  // Decimal −t_first, the `offset` attribute ("0" for an empty stream).
  std::string offset_text() const { return std::to_string(started_ ? -t_first_ : 0); }

 private:
  static constexpr std::int64_t kMostEntriesPerGap = std::int64_t{1} << 26;
  static constexpr std::size_t kSpillEntries = std::size_t{1} << 16;
  const char* what_;  // "event" or "trigger", for the message
  std::function<void(std::vector<IndexRecord>&)> spill_;
  bool started_ = false;
  std::int64_t t_first_ = 0;
  std::int64_t count_ = 0;
  IndexRecord candidate_{0, -1};
  IndexRecord last_{0, -1};
  std::vector<IndexRecord> pending_;
};

class EcfHdf5Encoder final : public EventEncoder {
 public:
  explicit EcfHdf5Encoder(const WriteOptions& options) : options_(options) {
    if (options.width > ecf::kCoordinateLimit || options.height > ecf::kCoordinateLimit) {
      throw InvalidArgument("ECF stores 11-bit coordinates: a " + std::to_string(options.width) + "x" +
                            std::to_string(options.height) + " sensor does not fit (at most 2048x2048)");
    }
    t_.reserve(kChunk);
    x_.reserve(kChunk);
    y_.reserve(kChunk);
    p_.reserve(kChunk);
  }

  ~EcfHdf5Encoder() override {
    h5::QuietErrors quiet;
    close_objects();
  }

  void begin(AtomicFile& out) override {
    h5::QuietErrors quiet;
    path_ = out.path();
    ensure_ecf_filter_registered();
    file_ = h5::create_file(path_, out.temp_path());
    write_attributes();
    // File types are little-endian whatever the host; memory types describe our structs.
    Handle cd = compound(16, {{"x", 0, H5T_STD_U16LE}, {"y", 2, H5T_STD_U16LE}, {"p", 4, H5T_STD_I16LE}, {"t", 8, H5T_STD_I64LE}});
    Handle trigger = compound(24, {{"p", 0, H5T_STD_I16LE}, {"t", 8, H5T_STD_I64LE}, {"id", 16, H5T_STD_I16LE}});
    Handle index = compound(16, {{"id", 0, H5T_STD_U64LE}, {"ts", 8, H5T_STD_I64LE}});
    trigger_memory_ = compound(sizeof(TriggerRecord), {{"p", offsetof(TriggerRecord, p), H5T_NATIVE_INT16},
                                                       {"t", offsetof(TriggerRecord, t), H5T_NATIVE_INT64},
                                                       {"id", offsetof(TriggerRecord, id), H5T_NATIVE_INT16}});
    index_memory_ = compound(sizeof(IndexRecord), {{"id", offsetof(IndexRecord, id), H5T_NATIVE_UINT64},
                                                   {"ts", offsetof(IndexRecord, ts), H5T_NATIVE_INT64}});
    // Metavision's reader opens all four datasets: create them even when they stay empty.
    cd_events_.emplace(table(path_, file_.get(), "/CD/events", cd.get(), H5I_INVALID_HID, true));  // chunks only
    cd_indexes_.emplace(table(path_, file_.get(), "/CD/indexes", index.get(), index_memory_.get(), false));
    trigger_events_.emplace(table(path_, file_.get(), "/EXT_TRIGGER/events", trigger.get(), trigger_memory_.get(), false));
    trigger_indexes_.emplace(table(path_, file_.get(), "/EXT_TRIGGER/indexes", index.get(), index_memory_.get(), false));
  }

  void encode(const EventBatch& events, const TriggerBatch& triggers, AtomicFile&) override {
    h5::QuietErrors quiet;
    validate(events);
    const auto t = events.t();
    const auto x = events.x();
    const auto y = events.y();
    const auto p = events.p();
    for (std::size_t i = 0; i < events.size(); ++i) {
      cd_index_.add(events_seen_++, t[i]);
      t_.push_back(t[i]);
      x_.push_back(x[i]);
      y_.push_back(y[i]);
      p_.push_back(p[i]);
      if (t_.size() == kChunk) flush_events();
    }
    write_triggers(triggers);
    flush_indexes(false);
  }

  void end(AtomicFile&) override {
    h5::QuietErrors quiet;
    flush_events();
    cd_index_.finish();
    trigger_index_.finish();
    flush_indexes(true);
    write_offset_attribute(*cd_indexes_, cd_index_);
    write_offset_attribute(*trigger_indexes_, trigger_index_);
    if (!close_objects()) h5::fail_write(path_, "cannot finish the file");
  }

 private:
  void write_attributes() {
    h5::write_string_attribute(path_, file_.get(), "version", "1.0");
    if (options_.width != 0 && options_.height != 0) {
      h5::write_string_attribute(path_, file_.get(), "geometry",
                             std::to_string(options_.width) + "x" + std::to_string(options_.height));
    }
    for (const auto& [key, value] : options_.header) {
      // evt and plugin_name describe a RAW stream and are dropped (docs/formats.md 15.6).
      if (key.empty() || key == "version" || key == "geometry" || key == "evt" || key == "plugin_name" ||
          key == "width" || key == "height" || key.rfind("hdf5.", 0) == 0) {
        continue;
      }
      h5::write_string_attribute(path_, file_.get(), key, value);
    }
  }

  // ECF cannot store these; refusing here names the event, and keeps blocks valid.
  void validate(const EventBatch& events) {
    const auto t = events.t();
    const auto x = events.x();
    const auto y = events.y();
    const std::uint32_t w = options_.width ? options_.width : ecf::kCoordinateLimit;
    const std::uint32_t h = options_.height ? options_.height : ecf::kCoordinateLimit;
    for (std::size_t i = 0; i < events.size(); ++i) {
      if (x[i] >= w || y[i] >= h) {
        throw InvalidArgument("event " + std::to_string(i) + " at (" + std::to_string(x[i]) + ", " + std::to_string(y[i]) +
                              ") does not fit the " + std::to_string(w) + "x" + std::to_string(h) +
                              " sensor (ECF holds coordinates up to 2047)");
      }
      if (have_time_ && t[i] < last_time_) {
        throw InvalidArgument("time decreases at event " + std::to_string(i) +
                              ": Metavision HDF5 files are in time order");
      }
      have_time_ = true;
      last_time_ = t[i];
    }
  }

  void flush_events() {
    if (t_.empty()) return;
    block_.clear();
    ecf::encode({t_, x_, y_, p_}, block_);
    cd_events_->append_chunk(block_, t_.size());
    t_.clear();
    x_.clear();
    y_.clear();
    p_.clear();
  }

  void write_triggers(const TriggerBatch& triggers) {
    if (triggers.empty()) return;
    std::vector<TriggerRecord> records(triggers.size());
    for (std::size_t i = 0; i < triggers.size(); ++i) {
      records[i] = {static_cast<std::int16_t>(triggers.value[i]), {}, triggers.t[i], static_cast<std::int16_t>(triggers.channel[i]), {}};
      trigger_index_.add(triggers_seen_++, triggers.t[i]);
    }
    trigger_events_->append(records.data(), records.size());
  }

  // Index entries are few (one per 2 ms of recording); written in batches to bound memory.
  void flush_indexes(bool all) {
    for (auto [index, table] : {std::pair{&cd_index_, &*cd_indexes_}, std::pair{&trigger_index_, &*trigger_indexes_}}) {
      auto& pending = index->pending();
      if (pending.empty() || (!all && pending.size() < kChunk)) continue;
      table->append(pending.data(), pending.size());
      pending.clear();
    }
  }

  static void spill(h5::AppendDataset& table, std::vector<IndexRecord>& entries) {
    table.append(entries.data(), entries.size());
    entries.clear();
  }

  void write_offset_attribute(h5::AppendDataset& table, const PeriodIndex& index) {
    h5::write_string_attribute(path_, table.get(), "offset", index.offset_text());
  }

  bool close_objects() {
    bool ok = true;
    for (auto* table : {&cd_events_, &cd_indexes_, &trigger_events_, &trigger_indexes_}) {
      if (*table) ok = (*table)->close() && ok;
      table->reset();
    }
    ok = file_.close() && ok;
    return ok;
  }

  WriteOptions options_;
  std::string path_;
  Handle file_;
  Handle trigger_memory_, index_memory_;  // declared before the tables that use them
  std::optional<h5::AppendDataset> cd_events_, cd_indexes_, trigger_events_, trigger_indexes_;
  std::vector<std::int64_t> t_;
  std::vector<std::uint16_t> x_, y_;
  std::vector<std::uint8_t> p_;
  std::vector<std::uint8_t> block_;
  PeriodIndex cd_index_{"event", [this](std::vector<IndexRecord>& entries) { spill(*cd_indexes_, entries); }};
  PeriodIndex trigger_index_{"trigger", [this](std::vector<IndexRecord>& entries) { spill(*trigger_indexes_, entries); }};
  std::uint64_t events_seen_ = 0, triggers_seen_ = 0;
  bool have_time_ = false;
  std::int64_t last_time_ = 0;
};

}  // namespace

std::unique_ptr<EventEncoder> make_ecf_hdf5_encoder(const WriteOptions& options) {
  return std::make_unique<EcfHdf5Encoder>(options);
}

}  // namespace evlib::detail
