// Scan::collect: everything that passes, in one batch, sized before decoding; with a time index
// and more than one thread, the index's segments are decoded in parallel straight into place.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "evlib/error.hpp"
#include "io/scan_internal.hpp"
#include "io/start_thread.hpp"

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

// Progress of the parallel path: workers add to it, the calling thread reports every step in
// order, so the user's callback never runs on a worker thread and sees each step once.
struct SharedProgress {
  std::mutex mutex;
  std::condition_variable changed;
  std::uint64_t bytes = 0, events = 0;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> steps;  // (bytes, events) not yet reported
  std::size_t running = 0;
  std::atomic<bool> cancelled{false};  // the load ended early (the callback threw): workers stop

  void add(std::uint64_t more_bytes, std::uint64_t more_events) {
    {
      std::lock_guard lock(mutex);
      bytes += more_bytes;
      events += more_events;
      steps.emplace_back(bytes, events);
    }
    changed.notify_one();
  }
  void finish() {
    {
      std::lock_guard lock(mutex);
      --running;
    }
    changed.notify_one();
  }
};

// Decodes index segments [first, last) into `region` (exact capacity: their unfiltered count),
// adding to `progress` every index stride. The decoder stops when it has less room than one word
// can yield; the tail is decoded through a small scratch batch and copied in.
void decode_segments(const Scan::Plan& scan, Scan::Source& source, const detail::TimeIndex& index, std::size_t first, std::size_t last,
                     EventBatch region, TriggerBatch& triggers, DecodeStats& stats, SharedProgress& progress) {
  constexpr std::size_t kReportEvery = std::size_t{1} << 16;
  auto format = source.open(scan, EventFilter{});
  format.reader->resume(std::string(index.entries[first].state), index.entries[first].offset);
  format.reader->set_end(index.segment_end(last - 1));
  std::uint64_t reported_bytes = index.entries[first].offset;
  std::size_t reported_events = 0;
  const auto report = [&] {
    const std::uint64_t at = format.reader->bytes_done();
    progress.add(at - reported_bytes, region.size() - reported_events);
    reported_bytes = at;
    reported_events = region.size();
  };
  bool more = true;
  while (more && region.size() + 32 <= region.capacity()) {
    if (progress.cancelled.load(std::memory_order_relaxed)) return;
    more = format.reader->fill(region, triggers, std::min(region.capacity(), region.size() + kReportEvery));
    report();
  }
  EventBatch scratch = EventBatch::with_capacity(256);
  while (more) {
    scratch.set_size(0);
    more = format.reader->fill(scratch, triggers);
    if (region.size() + scratch.size() > region.capacity()) throw Error(scan.path + ": time index does not match the file (rebuild it)");
    append_columns(region, scratch);
  }
  report();
  stats = format.reader->stats();
}

// Calls the scan's progress callback on this thread for every step of the workers, until they end.
void report_parallel_progress(const Scan::Plan& scan, std::uint64_t bytes_total, SharedProgress& progress,
                              std::chrono::steady_clock::time_point start) {
  std::unique_lock lock(progress.mutex);
  std::vector<std::pair<std::uint64_t, std::uint64_t>> steps;
  for (;;) {
    progress.changed.wait(lock, [&] { return progress.running == 0 || !progress.steps.empty(); });
    steps.swap(progress.steps);
    const bool done = progress.running == 0;
    lock.unlock();
    for (const auto& [bytes, events] : steps) {
      if (!scan.progress) break;
      ScanProgress p;
      p.bytes_done = bytes;
      p.events = events;
      p.bytes_total = bytes_total;
      p.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      scan.progress(p);
    }
    steps.clear();
    if (done) return;
    lock.lock();
  }
}

}  // namespace

EventBatch Scan::collect() const { return collect_recording().events; }

Recording Scan::collect_recording() const {
  const Plan& s = *plan_;
  Recording rec;
  const unsigned bytes_per_event = column_bytes(s.columns);
  const std::uint64_t budget = s.budget_bytes();
  auto probe = source_->open(s, s.options.filter);
  rec.metadata = probe.metadata;
  const auto index = source_->index(s, *probe.reader);
  std::size_t first = 0, last = 0;
  std::uint64_t bound = 0;
  if (index) {
    std::tie(first, last) = s.options.filter.has_time_window()
                                ? index->segments_for(s.options.filter.t0, s.options.filter.t1)
                                : std::pair<std::size_t, std::size_t>{0, index->entries.size()};
    for (std::size_t k = first; k < last; ++k) bound += index->entries[k].events;
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
  if (index && threads > 1 && s.columns == kAllColumns && !s.options.filter.active() && last - first >= 2) {
    // Parallel: contiguous groups of segments, each decoded by one thread into its own region.
    EventBatch out = EventBatch::with_capacity(bound);
    out.metadata = rec.metadata;
    const std::size_t groups = std::min<std::size_t>(threads, last - first);
    std::vector<std::size_t> cuts{first};
    std::uint64_t acc = 0, per_group = (bound + groups - 1) / groups;
    for (std::size_t k = first; k < last && cuts.size() < groups; ++k) {
      acc += index->entries[k].events;
      if (acc >= per_group * cuts.size() && k + 1 < last) cuts.push_back(k + 1);
    }
    cuts.push_back(last);
    std::vector<TriggerBatch> triggers(cuts.size() - 1);
    std::vector<DecodeStats> stats(cuts.size() - 1);
    std::vector<std::exception_ptr> errors(cuts.size() - 1);
    std::vector<std::size_t> decoded(cuts.size() - 1);
    SharedProgress progress;
    progress.running = cuts.size() - 1;
    progress.bytes = index->entries[first].offset;  // like the sequential path: a file offset
    const auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> pool;
    // However this scope ends (the progress callback threw, a thread could not start), the
    // workers are stopped and joined first: a joinable thread destroyed ends the process.
    struct JoinWorkers {
      std::vector<std::thread>& pool;
      SharedProgress& progress;
      ~JoinWorkers() {
        progress.cancelled = true;
        for (std::thread& t : pool) {
          if (t.joinable()) t.join();
        }
      }
    } join_workers{pool, progress};
    std::size_t begin = 0;
    Source& source = *source_;
    for (std::size_t g = 0; g + 1 < cuts.size(); ++g) {
      std::size_t count = 0;
      for (std::size_t k = cuts[g]; k < cuts[g + 1]; ++k) count += index->entries[k].events;
      EventBatch region = out.region(begin, count);
      detail::start_thread(pool, [&, g, region]() mutable {
        try {
          decode_segments(s, source, *index, cuts[g], cuts[g + 1], region, triggers[g], stats[g], progress);
        } catch (...) {
          errors[g] = std::current_exception();
        }
        progress.finish();
      });
      begin += count;
    }
    report_parallel_progress(s, rec.metadata->file_size, progress, start);
    for (auto& t : pool) t.join();
    for (auto& e : errors) {
      if (e) std::rethrow_exception(e);
    }
    for (std::size_t g = 0; g < stats.size(); ++g) {
      rec.stats += stats[g];
      rec.triggers.append(triggers[g]);
    }
    out.set_size(begin);
    rec.events = std::move(out);
    return rec;
  }

  // Sequential: chunk by chunk into the result (only the selected columns are kept). The probe
  // goes back to the source, so that the producer decodes with it instead of opening the file again.
  source_->give_back(std::move(probe), s.options.filter);
  EventBatch out = EventBatch::with_columns(bound, s.columns);
  detail::ChunkProducer producer(plan_, source_);
  EventBatch chunk;
  TriggerBatch tr;
  while (producer.next(chunk, tr)) {
    if (out.size() + chunk.size() > out.capacity()) fail_too_big(s.path, (out.size() + chunk.size()) * bytes_per_event, budget);
    append_columns(out, chunk);
    rec.triggers.append(tr);
  }
  rec.metadata = producer.metadata();
  out.metadata = rec.metadata;
  rec.events = std::move(out);
  rec.stats = producer.stats();
  return rec;
}

TriggerBatch Scan::collect_triggers() const {
  detail::ChunkProducer producer(plan_, source_);
  EventBatch chunk;
  TriggerBatch all, tr;
  while (producer.next(chunk, tr)) all.append(tr);
  return all;
}

}  // namespace evlib
