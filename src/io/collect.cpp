// Scan::collect: everything that passes, in one batch, sized before decoding; with a time index
// and more than one thread, the index's segments are decoded in parallel straight into place.
#include <algorithm>
#include <cstring>
#include <thread>

#include "evlib/error.hpp"
#include "io/scan_internal.hpp"

namespace evlib {

namespace {

constexpr std::size_t kBytesPerEvent = 13;

unsigned column_bytes(unsigned columns) {
  return ((columns & 1) ? 8u : 0u) + ((columns & 2) ? 2u : 0u) + ((columns & 4) ? 2u : 0u) + ((columns & 8) ? 1u : 0u);
}

// Appends the selected columns of chunk to out (which has room).
void append_columns(EventBatch& out, const EventBatch& chunk) {
  const std::size_t at = out.size(), n = chunk.size();
  if (out.has_t()) std::memcpy(out.t_data() + at, chunk.t().data(), n * sizeof(std::int64_t));
  if (out.has_x()) std::memcpy(out.x_data() + at, chunk.x().data(), n * sizeof(std::uint16_t));
  if (out.has_y()) std::memcpy(out.y_data() + at, chunk.y().data(), n * sizeof(std::uint16_t));
  if (out.has_p()) std::memcpy(out.p_data() + at, chunk.p().data(), n * sizeof(std::uint8_t));
  out.set_size(at + n);
}

[[noreturn]] void fail_too_big(const std::string& path, std::uint64_t need, std::uint64_t budget) {
  throw Error(path + ": collecting this scan needs up to " + std::to_string(need >> 20) + " MiB but the budget is " +
              std::to_string(budget >> 20) + " MiB; iterate it with batches() instead (or narrow it: time, roi, polarity)");
}

// Decodes index segments [first, last) into `region` (exact capacity: their unfiltered count).
// The decoder stops when it has less room than one word can yield; the tail is decoded through
// a small scratch batch and copied in.
void decode_segments(Scan::Impl& scan, const detail::TimeIndex& index, std::size_t first, std::size_t last,
                     EventBatch region, TriggerBatch& triggers, DecodeStats& stats) {
  auto format = scan.open(EventFilter{});
  format.reader->resume(index.entries[first].state, index.entries[first].offset);
  format.reader->set_end(index.segment_end(last - 1));
  bool more = true;
  while (more && region.size() + 32 <= region.capacity()) more = format.reader->fill(region, triggers);
  EventBatch scratch = EventBatch::with_capacity(256);
  while (more) {
    scratch.set_size(0);
    more = format.reader->fill(scratch, triggers);
    if (region.size() + scratch.size() > region.capacity()) throw Error(scan.path + ": time index does not match the file (rebuild it)");
    append_columns(region, scratch);
  }
  stats = format.reader->stats();
}

}  // namespace

EventBatch Scan::collect() {
  Impl& s = *impl_;
  const unsigned bytes_per_event = column_bytes(s.columns);
  const std::uint64_t budget = s.budget_bytes();
  auto probe = s.open(s.options.filter);
  s.metadata = probe.metadata;
  const bool indexed = s.policy != IndexPolicy::kOff && s.lookup_index(*probe.reader);
  std::size_t first = 0, last = 0;
  std::uint64_t bound = 0;
  if (indexed) {
    std::tie(first, last) = s.options.filter.has_time_window()
                                ? s.index->segments_for(s.options.filter.t0, s.options.filter.t1)
                                : std::pair<std::size_t, std::size_t>{0, s.index->entries.size()};
    for (std::size_t k = first; k < last; ++k) bound += s.index->entries[k].events;
  } else {
    bound = probe.reader->loose_upper_bound_events();
    if (budget != 0 && bound * kBytesPerEvent > budget) bound = probe.reader->upper_bound_events();
  }
  if (budget != 0 && bound * bytes_per_event > budget && !s.options.filter.active()) {
    fail_too_big(s.path, bound * bytes_per_event, budget);
  }
  // With a filter the result is smaller than the bound: reserve what the budget allows.
  if (budget != 0) bound = std::min<std::uint64_t>(bound, budget / std::max(1u, bytes_per_event));

  const unsigned threads = s.thread_count();
  if (indexed && threads > 1 && s.columns == 15 && !s.options.filter.active() && last - first >= 2) {
    // Parallel: contiguous groups of segments, each decoded by one thread into its own region.
    EventBatch out = EventBatch::with_capacity(bound);
    out.metadata = s.metadata;
    const std::size_t groups = std::min<std::size_t>(threads, last - first);
    std::vector<std::size_t> cuts{first};
    std::uint64_t acc = 0, per_group = (bound + groups - 1) / groups;
    for (std::size_t k = first; k < last && cuts.size() < groups; ++k) {
      acc += s.index->entries[k].events;
      if (acc >= per_group * cuts.size() && k + 1 < last) cuts.push_back(k + 1);
    }
    cuts.push_back(last);
    std::vector<TriggerBatch> triggers(cuts.size() - 1);
    std::vector<DecodeStats> stats(cuts.size() - 1);
    std::vector<std::exception_ptr> errors(cuts.size() - 1);
    std::vector<std::thread> pool;
    std::size_t begin = 0;
    for (std::size_t g = 0; g + 1 < cuts.size(); ++g) {
      std::size_t count = 0;
      for (std::size_t k = cuts[g]; k < cuts[g + 1]; ++k) count += s.index->entries[k].events;
      EventBatch region = out.region(begin, count);
      pool.emplace_back([&, g, region] {
        try {
          decode_segments(s, *s.index, cuts[g], cuts[g + 1], region, triggers[g], stats[g]);
        } catch (...) {
          errors[g] = std::current_exception();
        }
      });
      begin += count;
    }
    for (auto& t : pool) t.join();
    for (auto& e : errors) {
      if (e) std::rethrow_exception(e);
    }
    out.set_size(begin);
    s.stats = stats.front();
    return out;
  }

  // Sequential: chunk by chunk into the result (only the selected columns are kept).
  EventBatch out = EventBatch::with_columns(bound, s.columns);
  detail::ChunkProducer producer(s);
  EventBatch chunk;
  TriggerBatch tr;
  while (producer.next(chunk, tr)) {
    if (out.size() + chunk.size() > out.capacity()) fail_too_big(s.path, (out.size() + chunk.size()) * bytes_per_event, budget);
    append_columns(out, chunk);
  }
  out.metadata = s.metadata;
  return out;
}

TriggerBatch Scan::collect_triggers() {
  detail::ChunkProducer producer(*impl_);
  EventBatch chunk;
  TriggerBatch all, tr;
  while (producer.next(chunk, tr)) all.append(tr);
  return all;
}

}  // namespace evlib
