#include <algorithm>

#include "evlib/error.hpp"
#include "io/scan_internal.hpp"

namespace evlib::detail {

namespace {

void filter_triggers(const EventFilter& filter, TriggerBatch& triggers) {
  if (!filter.has_time_window()) return;
  TriggerBatch kept;
  for (std::size_t i = 0; i < triggers.size(); ++i) {
    if (triggers.t[i] >= filter.t0 && triggers.t[i] < filter.t1) {
      kept.push_back(triggers.t[i], triggers.channel[i], triggers.value[i]);
    }
  }
  triggers = std::move(kept);
}

}  // namespace

ChunkProducer::ChunkProducer(Scan::Impl& scan) : scan_(scan), start_(std::chrono::steady_clock::now()) {
  const EventFilter& filter = scan_.options.filter;
  format_ = scan_.open(filter);
  scan_.metadata = format_.metadata;
  const bool indexable = scan_.policy != IndexPolicy::kOff && format_.reader->can_snapshot();
  if (scan_.lookup_index(*format_.reader)) {  // never with IndexPolicy::kOff
    const TimeIndex& index = *scan_.index;
    if (filter.has_time_window() && !index.entries.empty()) {
      const auto [first, last] = index.segments_for(filter.t0, filter.t1);
      if (first == last) {
        done_ = true;
      } else {
        format_.reader->resume(index.entries[first].state, index.entries[first].offset);
        format_.reader->set_end(index.segment_end(last - 1));
      }
    }
  } else if (indexable) {
    // No index yet: this pass builds one. Segment time ranges must be those of the unfiltered
    // stream, so the decoder runs without the filter and the chunks are filtered afterwards.
    building_ = true;
    if (filter.active()) format_ = scan_.open(EventFilter{});
  }
  post_filter_ = filter.active() && (building_ || !format_.reader->pushes_down_filter());
  if (done_ || filter.has_time_window() || scan_.thread_count() < 2) return;
  if (scan_.index && !building_) {
    // With an index every format that can resume decodes on several threads, from its entries.
    if (!scan_.options.strict && !scan_.options.metavision_time_shift) start_parallel(true);
  } else if (ParallelChunks::usable(*format_.reader, scan_.options)) {
    start_parallel(false);
  }
}

void ChunkProducer::start_parallel(bool from_index) {
  ParallelPlan plan;
  plan.threads = scan_.thread_count();
  // The pieces decoded ahead (threads + 1) and the caller's chunk share the chunk budget; a
  // piece is sized to fill about one chunk (the raw formats take 2-8 bytes an event).
  plan.chunk_events = std::max<std::size_t>(scan_.chunk_events() / (plan.threads + 2), std::size_t{1} << 14);
  if (from_index) {
    ParallelChunks::plan_segments(*scan_.index, plan.chunk_events, plan);
    if (plan.starts.size() < 2) return;  // one piece: nothing to share
  } else {
    plan.piece_bytes = std::clamp<std::uint64_t>(std::uint64_t{plan.chunk_events} * 2, std::uint64_t{256} << 10,
                                                 std::uint64_t{64} << 20);
    const std::uint64_t payload =
        format_.metadata->file_size - std::min(format_.metadata->file_size, format_.metadata->data_offset);
    if (payload < 2 * plan.piece_bytes) return;  // one piece: nothing to share
    plan.record_index = building_;
  }
  if (post_filter_) plan.post_filter = scan_.options.filter;
  const EventFilter pushed = post_filter_ ? EventFilter{} : scan_.options.filter;
  Scan::Impl& scan = scan_;
  parallel_ = std::make_unique<ParallelChunks>([&scan, pushed] { return scan.open(pushed); }, format_.metadata, plan);
  post_filter_ = false;  // done by the pieces
}

bool ChunkProducer::next_parallel(EventBatch& events, TriggerBatch& triggers) {
  while (parallel_->next(events, triggers)) {
    delivered_ += events.size();
    scan_.stats = parallel_->stats();
    report_progress();
    if (!events.empty() || !triggers.empty()) return true;
  }
  scan_.stats = parallel_->stats();
  done_ = true;
  report_progress();
  if (building_) {
    scan_.index = parallel_->take_index();
    scan_.index->seal();
    scan_.save_index();
    building_ = false;
  }
  return false;
}

bool ChunkProducer::next(EventBatch& events, TriggerBatch& triggers) {
  if (parallel_) return !done_ && next_parallel(events, triggers);
  events = EventBatch{};  // the caller's reference to the last chunk: without it, it is reused
  while (!done_) {
    if (buffer_.capacity() == 0 || !buffer_.sole_owner()) {
      buffer_ = EventBatch::with_capacity(scan_.chunk_events());
      buffer_.metadata = format_.metadata;
    }
    buffer_.set_size(0);
    triggers.clear();
    bool more = true;
    if (building_) {
      // Index segments are finer than chunks, so that a short window decodes little.
      more = fill_indexing(*format_.reader, buffer_, triggers, building_index_.entries);
    } else {
      while (more && buffer_.size() + 32 <= buffer_.capacity()) more = format_.reader->fill(buffer_, triggers);
    }
    if (!more) done_ = true;
    if (post_filter_) scan_.options.filter.apply(buffer_);
    filter_triggers(scan_.options.filter, triggers);
    delivered_ += buffer_.size();
    format_.metadata->time_shift = format_.reader->time_shift();
    scan_.stats = format_.reader->stats();
    report_progress();
    if (done_ && building_) {
      building_index_.end_offset = format_.reader->bytes_done();
      scan_.index = std::move(building_index_);
      scan_.index->seal();
      scan_.save_index();
      building_ = false;
    }
    if (!buffer_.empty() || !triggers.empty()) {
      events = buffer_;
      return true;
    }
  }
  return false;
}

void ChunkProducer::report_progress() {
  if (!scan_.progress) return;
  ScanProgress p;
  p.bytes_done = parallel_ ? parallel_->bytes_done() : format_.reader->bytes_done();
  p.bytes_total = format_.metadata->file_size;
  p.events = delivered_;
  p.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  scan_.progress(p);
}

}  // namespace evlib::detail
