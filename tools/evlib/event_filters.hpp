#pragma once
// The processing filters as options of the streaming commands (convert, dump): --refractory,
// --denoise, --stcf and --hot-pixels, run over the chunks of a read in stream order with each
// filter's state carried from chunk to chunk, so the events kept do not depend on --chunk.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "evlib/event_batch.hpp"
#include "evlib/ops/common.hpp"

namespace evlib::cli {

struct FilterFlags {
  std::string refractory;  // PERIOD[:tonic|dv|evlib]
  std::string denoise;     // baf:DURATION[:dv|jaer|tonic] | fast-decay[:half_life=T][:subdivision_factor=N][:noise_threshold=X]
  std::string stcf;        // K:CORRELATION_TIME
  std::string hot_pixels;  // rate:HZ | percentile:Q | mask:FILE.npy
  void add_to(CLI::App& app);
  bool any() const { return !refractory.empty() || !denoise.empty() || !stcf.empty() || !hot_pixels.empty(); }
  // Whether building the chain needs a first pass over the events (the percentile rule counts).
  bool needs_counts() const;
};

// Runs every chunk of the input through `visit`: a first pass, for what the filters need before
// the events are filtered (the sensor size when the file states none, per-pixel counts).
using FirstPass = std::function<void(const std::function<void(const EventBatch&)>& visit)>;

class EventFilters {
 public:
  // The filters of `flags` for a sensor of width x height (0 x 0: unknown, then taken from the
  // events' largest x and y in a first pass). first_pass may be empty when the input cannot be
  // read twice: a filter that needs it then fails with a message naming `input`.
  EventFilters(const FilterFlags& flags, ops::SensorSize sensor, const std::string& input, const FirstPass& first_pass);
  ~EventFilters();
  EventFilters(EventFilters&&) noexcept;
  EventFilters& operator=(EventFilters&&) noexcept;

  bool empty() const noexcept;
  // The events of the batch that every filter keeps, in order; filter state carries to the next call.
  EventBatch apply(EventBatch events);

  struct Stage;  // one filter with its state

 private:
  std::vector<std::unique_ptr<Stage>> stages_;
};

}  // namespace evlib::cli
