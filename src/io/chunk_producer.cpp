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

// The highest bound on events per byte over 16 windows of 64 KiB spread across the payload.
double densest_sample(FormatReader& reader, std::uint64_t data_offset, std::uint64_t payload) {
  constexpr std::size_t kSamples = 16, kWindow = std::size_t{64} << 10;
  double densest = 0;
  for (std::size_t k = 0; k < kSamples; ++k) {
    const std::uint64_t at = data_offset + payload / kSamples * k;
    densest = std::max(densest, reader.events_per_byte_bound(at, static_cast<std::size_t>(std::min<std::uint64_t>(kWindow, payload))));
  }
  return densest;
}

}  // namespace

ChunkProducer::ChunkProducer(std::shared_ptr<const Scan::Plan> plan, std::shared_ptr<Scan::Source> source)
    : plan_(std::move(plan)), source_(std::move(source)), start_(std::chrono::steady_clock::now()) {
  const EventFilter& filter = plan_->options.filter;
  format_ = source_->open(*plan_, filter);
  index_ = source_->index(*plan_, *format_.reader);
  const bool indexable = plan_->policy != IndexPolicy::kOff && format_.reader->can_snapshot();
  if (index_) {
    if (filter.has_time_window() && !index_->entries.empty()) {
      const auto [first, last] = index_->segments_for(filter.t0, filter.t1);
      if (first == last) {
        done_ = true;
      } else {
        format_.reader->resume(std::string(index_->entries[first].state), index_->entries[first].offset);
        format_.reader->set_end(index_->segment_end(last - 1));
      }
    }
  } else if (indexable) {
    // No index yet: this pass builds one. Segment time ranges must be those of the unfiltered
    // stream, so the decoder runs without the filter and the chunks are filtered afterwards.
    building_ = true;
    if (filter.active()) format_ = source_->open(*plan_, EventFilter{});
  }
  post_filter_ = filter.active() && (building_ || !format_.reader->pushes_down_filter());
  if (done_ || filter.has_time_window() || plan_->thread_count() < 2) return;
  if (index_ && !building_) {
    // With an index every format that can resume decodes on several threads, from its entries.
    if (!plan_->options.strict && !plan_->options.metavision_time_shift) start_parallel(true);
  } else if (ParallelChunks::usable(*format_.reader, plan_->options)) {
    start_parallel(false);
  }
}

void ChunkProducer::start_parallel(bool from_index) {
  ParallelPlan plan;
  plan.threads = plan_->thread_count();
  // A piece is sized to fill about one chunk (the raw formats take 2-8 bytes an event).
  plan.chunk_events = std::min(plan_->piece_chunk_events(plan.threads), plan_->chunk_events());
  if (from_index) {
    ParallelChunks::plan_segments(*index_, plan.chunk_events, plan);
    if (plan.starts.size() < 2) return;  // one piece: nothing to share
  } else {
    const std::uint64_t payload =
        format_.metadata->file_size - std::min(format_.metadata->file_size, format_.metadata->data_offset);
    // Pieces hold about one chunk of events: sized by the densest of a few samples of the file.
    const double density = std::max(densest_sample(*format_.reader, format_.metadata->data_offset, payload), 1.0 / 64);
    plan.piece_bytes = std::clamp<std::uint64_t>(static_cast<std::uint64_t>(static_cast<double>(plan.chunk_events) / density),
                                                 std::uint64_t{64} << 10, std::uint64_t{64} << 20);
    if (payload < 2 * plan.piece_bytes) return;  // one piece: nothing to share
    plan.record_index = building_;
  }
  if (post_filter_) plan.post_filter = plan_->options.filter;
  const EventFilter pushed = post_filter_ ? EventFilter{} : plan_->options.filter;
  parallel_ = std::make_unique<ParallelChunks>(
      [scan = plan_, source = source_, pushed] { return source->open(*scan, pushed); }, format_.metadata, plan);
  post_filter_ = false;  // done by the pieces
}

void ChunkProducer::finish_index(TimeIndex index) {
  source_->publish_index(*plan_, std::move(index));
  building_ = false;
}

bool ChunkProducer::next_parallel(EventBatch& events, TriggerBatch& triggers) {
  while (parallel_->next(events, triggers)) {
    delivered_ += events.size();
    stats_ = parallel_->stats();
    report_progress();
    if (!events.empty() || !triggers.empty()) return true;
  }
  stats_ = parallel_->stats();
  done_ = true;
  report_progress();
  if (building_) finish_index(parallel_->take_index());
  return false;
}

EventBatch& ChunkProducer::free_buffer() {
  for (std::size_t k = 0; k < pool_.size(); ++k) {
    const std::size_t i = (current_ + k) % pool_.size();
    if (pool_[i].sole_owner()) {
      current_ = i;
      return pool_[i];
    }
  }
  EventBatch fresh = EventBatch::with_capacity(plan_->chunk_events());
  fresh.metadata = format_.metadata;
  if (pool_.size() < kPoolSize) {
    pool_.push_back(std::move(fresh));
    current_ = pool_.size() - 1;
  } else {
    // Every pooled buffer is held elsewhere: replace the oldest (its holders keep their copy).
    current_ = (current_ + 1) % pool_.size();
    pool_[current_] = std::move(fresh);
  }
  return pool_[current_];
}

bool ChunkProducer::next(EventBatch& events, TriggerBatch& triggers) {
  if (parallel_) return !done_ && next_parallel(events, triggers);
  events = EventBatch{};  // the caller's reference to the last chunk: without it, it is reused
  while (!done_) {
    EventBatch& buffer = free_buffer();
    buffer.set_size(0);
    triggers.clear();
    bool more = true;
    if (building_) {
      // Index segments are finer than chunks, so that a short window decodes little.
      more = fill_indexing(*format_.reader, buffer, triggers, building_index_.entries);
    } else {
      while (more && !chunk_is_full(buffer, triggers)) more = format_.reader->fill(buffer, triggers);
    }
    if (!more) done_ = true;
    if (post_filter_) plan_->options.filter.apply(buffer);
    filter_triggers(plan_->options.filter, triggers);
    delivered_ += buffer.size();
    format_.metadata->time_shift = format_.reader->time_shift();
    stats_ = format_.reader->stats();
    report_progress();
    if (done_ && building_) {
      building_index_.end_offset = format_.reader->bytes_done();
      finish_index(std::move(building_index_));
    }
    if (!buffer.empty() || !triggers.empty()) {
      events = buffer;
      return true;
    }
  }
  return false;
}

std::uint64_t ChunkProducer::bytes_done() const {
  return parallel_ ? parallel_->bytes_done() : format_.reader->bytes_done();
}

void ChunkProducer::report_progress() {
  if (!plan_->progress) return;
  ScanProgress p;
  p.bytes_done = bytes_done();
  p.bytes_total = format_.metadata->file_size;
  p.events = delivered_;
  p.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  plan_->progress(p);
}

}  // namespace evlib::detail
