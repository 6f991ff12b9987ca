#include "evlib/ops/slicing.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <stdexcept>

namespace evlib::ops {
namespace {

void require_sorted(std::span<const std::int64_t> t) {
  if (std::ranges::is_sorted(t)) return;
  const auto it = std::ranges::is_sorted_until(t);
  throw std::invalid_argument("slice_events: time decreases at event " + std::to_string(it - t.begin()) +
                              " (time-based slicing needs non-decreasing time)");
}

// First index whose time, compared as numpy compares int64 times with float64 bounds, is not
// below `bound` (numpy.searchsorted side='left').
std::size_t lower_bound_f64(std::span<const std::int64_t> t, double bound) {
  return static_cast<std::size_t>(
      std::ranges::partition_point(t, [bound](std::int64_t v) { return static_cast<double>(v) < bound; }) - t.begin());
}

std::size_t lower_bound_i64(std::span<const std::int64_t> t, std::int64_t bound) {
  return static_cast<std::size_t>(std::ranges::lower_bound(t, bound) - t.begin());
}

// lower_bound_i64 of a bound computed in 128 bits: window bounds near the int64 limits pass them
// (every time is below a bound past INT64_MAX, none below one past INT64_MIN).
std::size_t lower_bound_wide(std::span<const std::int64_t> t, int128 bound) {
  if (bound > std::numeric_limits<std::int64_t>::max()) return t.size();
  if (bound < std::numeric_limits<std::int64_t>::min()) return 0;
  return lower_bound_i64(t, static_cast<std::int64_t>(bound));
}

// Refuses, before anything is allocated, a window count whose bounds (twice: here, and the
// caller's copy) would not fit in the machine's memory: a tiny window over a long recording
// (1 µs over 10 minutes: 6e8 windows, 19 GB) otherwise allocates for seconds, then fails
// without saying why.
void require_windows_fit_memory(double count) {
  const double memory = detail::physical_memory_bytes();
  const double bytes = 2 * count * sizeof(IndexRange);
  if (!(count < 0x1p62) || bytes > memory) {
    char text[160];
    std::snprintf(text, sizeof text, "%.4g windows: more than memory can hold (their bounds take %.3g GB, this machine has %.3g GB); a longer window?",
                  count, bytes / 1e9, memory / 1e9);
    throw std::length_error(std::string("slice_events: ") + text);
  }
}

std::vector<IndexRange> by_time(std::span<const std::int64_t> t, const TimeWindowSlicing& s, SliceConvention c) {
  if (s.window_us <= 0) throw std::invalid_argument("slice_events: the time window must be positive");
  const std::int64_t stride = s.window_us - s.overlap_us;
  if (s.overlap_us < 0 || stride <= 0) throw std::invalid_argument("slice_events: the overlap must be in [0, window)");
  if (t.empty() && (!s.start_us || !s.end_us)) {
    // tonic's ToFrame gives one empty frame for empty input; the clean convention no window.
    if (c == SliceConvention::kTonic) return {IndexRange{}};
    return {};
  }
  require_sorted(t);
  const std::int64_t start = s.start_us.value_or(t.empty() ? 0 : t.front());
  const std::int64_t end = s.end_us.value_or(t.empty() ? 0 : t.back());
  std::int64_t n = 0;
  if (c == SliceConvention::kTonic) {
    // numpy: (duration - window) / stride is a float64 true division, then floor or ceil.
    const double q = static_cast<double>(int128{end} - start - s.window_us) / static_cast<double>(stride);
    const double whole = s.include_incomplete ? std::ceil(q) : std::floor(q);
    require_windows_fit_memory(whole + 1);  // (a float64 past 2^63 has no int64)
    n = std::max<std::int64_t>(static_cast<std::int64_t>(whole) + 1, 1);
  } else if (end >= start) {
    // Windows cover [start, end] inclusive: complete ones end at or before end + 1; with
    // include_incomplete every window starting at or before end.
    // In 128 bits: the span of int64 times reaches 2^64.
    const int128 last_start = s.include_incomplete ? int128{end} - start : int128{end} + 1 - start - s.window_us;
    const int128 count = last_start < 0 ? 0 : last_start / stride + 1;
    require_windows_fit_memory(static_cast<double>(count));
    n = static_cast<std::int64_t>(count);
  }
  std::vector<IndexRange> windows;
  windows.reserve(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    const int128 begin_t = int128{start} + int128{i} * stride;
    windows.push_back({lower_bound_wide(t, begin_t), lower_bound_wide(t, begin_t + s.window_us)});
  }
  return windows;
}

std::vector<IndexRange> by_count(std::size_t n_events, const EventCountSlicing& s, SliceConvention c) {
  if (s.count == 0) throw std::invalid_argument("slice_events: the event count must be positive");
  if (s.overlap >= s.count) throw std::invalid_argument("slice_events: the overlap must be below the event count");
  const std::size_t stride = s.count - s.overlap;
  std::size_t width = s.count;
  std::size_t n = 0;
  if (c == SliceConvention::kTonic) {
    width = std::min(s.count, n_events);
    const double q = static_cast<double>(n_events - width) / static_cast<double>(stride);
    n = static_cast<std::size_t>(s.include_incomplete ? std::ceil(q) : std::floor(q)) + 1;
  } else if (s.include_incomplete) {
    n = n_events == 0 ? 0 : (n_events - 1) / stride + 1;
  } else {
    n = n_events < s.count ? 0 : (n_events - s.count) / stride + 1;
  }
  std::vector<IndexRange> windows;
  windows.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t begin = std::min(i * stride, n_events);
    windows.push_back({begin, std::min(i * stride + width, n_events)});
  }
  return windows;
}

void require_bins(std::size_t bins, double overlap) {
  if (bins == 0) throw std::invalid_argument("slice_events: the number of bins must be positive");
  if (!(overlap >= 0.0 && overlap < 1.0)) throw std::invalid_argument("slice_events: the overlap must be in [0, 1)");
}

// Clean bins: bin i starts at boundary(i) = floor(i * total / bins) and is stretched by the
// overlap fraction of its own length, never past `total`.
// (total reaches 2^64, a span of int64 times: 128 bits.)
int128 clean_boundary(std::size_t i, std::size_t bins, int128 total) {
  return (static_cast<int128>(i) * total) / static_cast<int128>(bins);
}

int128 clean_end(std::size_t i, std::size_t bins, int128 total, double overlap) {
  const int128 b0 = clean_boundary(i, bins, total);
  const int128 b1 = clean_boundary(i + 1, bins, total);
  const auto stretch = static_cast<int128>(std::floor(overlap * static_cast<double>(b1 - b0)));
  return std::min(total, b1 + stretch);
}

std::vector<IndexRange> by_time_bins(std::span<const std::int64_t> t, const TimeBinSlicing& s, SliceConvention c) {
  require_bins(s.bins, s.overlap);
  if (t.empty()) return std::vector<IndexRange>(s.bins);
  require_sorted(t);
  std::vector<IndexRange> windows;
  windows.reserve(s.bins);
  const std::int64_t t0 = t.front();
  if (c == SliceConvention::kTonic) {
    // (t[-1] - t[0]) // bins is integer floor division; the rest is float64 as numpy does it.
    const double window = static_cast<double>((int128{t.back()} - t0) / static_cast<int128>(s.bins)) * (1.0 + s.overlap);
    const double stride = window * (1.0 - s.overlap);
    for (std::size_t i = 0; i < s.bins; ++i) {
      const double begin_t = static_cast<double>(i) * stride + static_cast<double>(t0);
      windows.push_back({lower_bound_f64(t, begin_t), lower_bound_f64(t, begin_t + window)});
    }
    return windows;
  }
  const int128 span = int128{t.back()} - t0 + 1;  // [first, last] inclusive
  for (std::size_t i = 0; i < s.bins; ++i)
    windows.push_back({lower_bound_wide(t, t0 + clean_boundary(i, s.bins, span)),
                       lower_bound_wide(t, t0 + clean_end(i, s.bins, span, s.overlap))});
  return windows;
}

std::vector<IndexRange> by_event_bins(std::size_t n_events, const EventBinSlicing& s, SliceConvention c) {
  require_bins(s.bins, s.overlap);
  std::vector<IndexRange> windows;
  windows.reserve(s.bins);
  if (c == SliceConvention::kTonic) {
    const auto count = static_cast<std::size_t>(static_cast<double>(n_events / s.bins) * (1.0 + s.overlap));
    const auto stride = static_cast<std::size_t>(static_cast<double>(count) * (1.0 - s.overlap));
    for (std::size_t i = 0; i < s.bins; ++i)
      windows.push_back({std::min(i * stride, n_events), std::min(i * stride + count, n_events)});
    return windows;
  }
  const auto total = static_cast<std::int64_t>(n_events);
  for (std::size_t i = 0; i < s.bins; ++i)
    windows.push_back({static_cast<std::size_t>(clean_boundary(i, s.bins, total)),
                       static_cast<std::size_t>(clean_end(i, s.bins, total, s.overlap))});
  return windows;
}

}  // namespace

std::vector<IndexRange> slice_events(std::span<const std::int64_t> t, const Slicing& slicing, SliceConvention convention) {
  return std::visit(
      [&](const auto& s) -> std::vector<IndexRange> {
        using S = std::decay_t<decltype(s)>;
        if constexpr (std::is_same_v<S, TimeWindowSlicing>) return by_time(t, s, convention);
        else if constexpr (std::is_same_v<S, EventCountSlicing>) return by_count(t.size(), s, convention);
        else if constexpr (std::is_same_v<S, TimeBinSlicing>) return by_time_bins(t, s, convention);
        else return by_event_bins(t.size(), s, convention);
      },
      slicing);
}

}  // namespace evlib::ops
