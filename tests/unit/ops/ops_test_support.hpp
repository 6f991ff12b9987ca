#pragma once
// Event streams for the processing-operation tests: hand-written ones and seeded random ones,
// and a splitter that cuts a stream into random batches (chunking invariance).
#include <algorithm>
#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include "evlib/event_batch.hpp"
#include "evlib/ops/common.hpp"

namespace evlib::ops::testing {

struct Events {
  std::vector<std::int64_t> t;
  std::vector<std::uint16_t> x, y;
  std::vector<std::uint8_t> p;

  void add(std::int64_t time, std::uint16_t col, std::uint16_t row, std::uint8_t pol = 1) {
    t.push_back(time);
    x.push_back(col);
    y.push_back(row);
    p.push_back(pol);
  }
  std::size_t size() const { return t.size(); }
  EventView view() const { return {t.data(), x.data(), y.data(), p.data(), t.size()}; }
};

// n events with non-decreasing times (steps 0..max_step), uniform pixels on the sensor.
inline Events random_events(std::size_t n, SensorSize sensor, std::uint32_t seed, std::int64_t max_step = 50,
                            std::int64_t t0 = 1000) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<std::int64_t> step(0, max_step);
  std::uniform_int_distribution<unsigned> col(0, sensor.width - 1), row(0, sensor.height - 1), pol(0, 1);
  Events e;
  std::int64_t t = t0;
  for (std::size_t i = 0; i < n; ++i) {
    t += step(rng);
    e.add(t, static_cast<std::uint16_t>(col(rng)), static_cast<std::uint16_t>(row(rng)), static_cast<std::uint8_t>(pol(rng)));
  }
  return e;
}

// Random batch boundaries (0 and n included), some batches empty.
inline std::vector<std::size_t> random_cuts(std::size_t n, std::uint32_t seed, std::size_t pieces = 7) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<std::size_t> at(0, n);
  std::vector<std::size_t> cuts{0, n};
  for (std::size_t i = 0; i < pieces; ++i) cuts.push_back(at(rng));
  std::sort(cuts.begin(), cuts.end());
  return cuts;
}

// Keep flags of a filter run over the whole view at once, and over random batches.
template <class Filter>
std::vector<std::uint8_t> keep_flags(Filter& filter, EventView events) {
  std::vector<std::uint8_t> keep(events.size());
  filter.apply(events, keep);
  return keep;
}

template <class Filter>
std::vector<std::uint8_t> keep_flags_in_batches(Filter& filter, EventView events, std::uint32_t seed) {
  std::vector<std::uint8_t> keep(events.size());
  const auto cuts = random_cuts(events.size(), seed);
  for (std::size_t i = 0; i + 1 < cuts.size(); ++i)
    filter.apply(events.slice(cuts[i], cuts[i + 1]), std::span(keep).subspan(cuts[i], cuts[i + 1] - cuts[i]));
  return keep;
}

}  // namespace evlib::ops::testing
