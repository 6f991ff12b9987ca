// Scan::time_index(): the segments of a file's time index, for planners that split a file into
// pieces of time (evlib.dask) without decoding it. The index is the one every scan uses
// (Source::index: the format's own, else the cached one a full pass left).
#include "io/scan_internal.hpp"

namespace evlib {

std::optional<std::vector<IndexSegment>> Scan::time_index() const {
  detail::OpenedFormat opened = source_->open(*plan_, plan_->options.filter);
  const std::shared_ptr<const detail::TimeIndex> index = source_->index(*plan_, *opened.reader);
  source_->give_back(std::move(opened), plan_->options.filter);
  if (!index) return std::nullopt;
  std::vector<IndexSegment> segments;
  segments.reserve(index->entries.size());
  for (const detail::IndexEntryView e : index->entries) segments.push_back({e.t_min, e.t_max, e.events});
  return segments;
}

}  // namespace evlib
