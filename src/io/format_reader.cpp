#include "io/format_reader.hpp"

#include <algorithm>

#include "evlib/error.hpp"

namespace evlib::detail {

void FormatReader::resume(const std::string&, std::uint64_t) {
  throw InvalidArgument("this format cannot resume from a time index snapshot");
}

void FormatReader::set_end(std::uint64_t) { throw InvalidArgument("this format cannot stop at a byte offset"); }

template <class Entries>
bool fill_indexing(FormatReader& reader, EventBatch& batch, TriggerBatch& triggers, Entries& entries) {
  bool more = true;
  while (more && !chunk_is_full(batch, triggers)) {
    IndexEntry e;
    e.offset = reader.bytes_done();
    e.state = reader.snapshot();
    const std::size_t from = batch.size(), trig_from = triggers.size();
    more = reader.fill(batch, triggers, from + kIndexStride);
    e.events = batch.size() - from;
    const auto t = batch.t();
    for (std::size_t i = from; i < t.size(); ++i) {
      e.t_min = std::min(e.t_min, t[i]);
      e.t_max = std::max(e.t_max, t[i]);
    }
    for (std::size_t i = trig_from; i < triggers.size(); ++i) {
      e.t_min = std::min(e.t_min, triggers.t[i]);
      e.t_max = std::max(e.t_max, triggers.t[i]);
    }
    if (e.events != 0 || triggers.size() != trig_from || entries.empty()) entries.push_back(std::move(e));
  }
  return more;
}
template bool fill_indexing(FormatReader&, EventBatch&, TriggerBatch&, std::vector<IndexEntry>&);
template bool fill_indexing(FormatReader&, EventBatch&, TriggerBatch&, IndexEntries&);

double FormatReader::events_per_byte_bound(std::uint64_t, std::size_t) { return 0.5; }

std::uint64_t FormatReader::sync_at(std::uint64_t, std::uint64_t) {
  throw InvalidArgument("this format cannot be split for parallel decoding");
}

std::optional<std::int64_t> FormatReader::epoch_offset(const std::string&, const std::string&) const {
  return std::nullopt;
}

void FormatReader::resume_synced(const std::string&, std::uint64_t) {
  throw InvalidArgument("this format cannot be split for parallel decoding");
}

std::string FormatReader::shift_snapshot(const std::string&, std::int64_t) const {
  throw InvalidArgument("this format cannot be split for parallel decoding");
}

}  // namespace evlib::detail
