#include "render/gif_palette.hpp"

#include <algorithm>
#include <limits>
#include <utility>

namespace evlib::render::detail {

namespace {

constexpr std::uint32_t kOpaque = 0xFF000000u;
constexpr std::uint32_t kLaterGeneration = 0xFE000000u;  // entry 0's alpha after a fresh start
constexpr std::uint32_t kUsed = 1u << 24;

std::uint32_t rgb_at(const std::uint8_t* pixel) {
  return std::uint32_t{pixel[0]} << 16 | std::uint32_t{pixel[1]} << 8 | pixel[2];
}

// The 15-bit bin of a colour: 5 bits a channel.
std::uint32_t bin_of(std::uint32_t rgb) {
  return (rgb >> 9 & 0x7C00) | (rgb >> 6 & 0x03E0) | (rgb >> 3 & 0x001F);
}

// The slot of `color` in an open-addressing table of 2^bits slots (colour | kUsed per used slot,
// 0 empty): where it is, or the empty slot where it goes. Knuth's multiplicative hash of the 24
// bits, linear probing; the tables are kept at most a quarter (palette) or half full.
template <class Slots>
std::size_t slot_of(const Slots& slots, std::uint32_t color, int bits) {
  std::size_t slot = (color * 2654435761u) >> (32 - bits);
  while (slots[slot] != 0 && slots[slot] != (color | kUsed)) slot = (slot + 1) & (slots.size() - 1);
  return slot;
}

int distance2(std::uint32_t a, std::uint32_t b) {
  int sum = 0;
  for (int shift = 0; shift <= 16; shift += 8) {
    const int d = int(a >> shift & 0xFF) - int(b >> shift & 0xFF);
    sum += d * d;
  }
  return sum;
}

}  // namespace

void GifPalette::clear() {
  slot_color_.fill(0);
  entries_.fill(kOpaque);
  used_ = 0;
}


int GifPalette::index_of(std::uint32_t rgb) {
  const std::size_t slot = slot_of(slot_color_, rgb, kSlotBits);
  if (slot_color_[slot] != 0) return slot_index_[slot];
  if (used_ == kColors) return -1;
  slot_color_[slot] = rgb | kUsed;
  slot_index_[slot] = static_cast<std::uint8_t>(used_);
  entries_[used_] = kOpaque | rgb;
  return static_cast<int>(used_++);
}

bool GifPalette::index_exactly(const std::uint8_t* rgb, std::size_t width, std::size_t height, std::uint8_t* indices,
                               std::ptrdiff_t stride) {
  std::uint32_t last = std::numeric_limits<std::uint32_t>::max();  // no colour: a run's colour, looked up once
  std::uint8_t last_index = 0;
  for (std::size_t row = 0; row < height; ++row) {
    const std::uint8_t* pixel = rgb + row * width * 3;
    std::uint8_t* out = indices + static_cast<std::ptrdiff_t>(row) * stride;
    for (std::size_t x = 0; x < width; ++x, pixel += 3) {
      const std::uint32_t color = rgb_at(pixel);
      if (color != last) {
        const int index = index_of(color);
        if (index < 0) return false;
        last = color;
        last_index = static_cast<std::uint8_t>(index);
      }
      out[x] = last_index;
    }
  }
  return true;
}

bool GifPalette::count_distinct(const std::uint8_t* rgb, std::size_t pixels) {
  reduced_color_.assign(kReducedSlots, 0);
  reduced_count_.assign(kReducedSlots, 0);
  std::size_t distinct = 0;
  for (std::size_t i = 0; i < pixels;) {
    const std::uint32_t color = rgb_at(rgb + 3 * i);
    std::size_t run = 1;
    while (i + run < pixels && rgb_at(rgb + 3 * (i + run)) == color) ++run;
    const std::size_t slot = slot_of(reduced_color_, color, kReducedSlotBits);
    if (reduced_color_[slot] == 0) {
      if (++distinct > kReducedColors) return false;
      reduced_color_[slot] = color | kUsed;
    }
    reduced_count_[slot] += static_cast<std::uint32_t>(run);
    i += run;
  }
  return true;
}

void GifPalette::index_reduced(const std::uint8_t* rgb, std::size_t width, std::size_t height, std::uint8_t* indices,
                               std::ptrdiff_t stride) {
  const auto for_each_pixel = [&](auto entry_of_color) {
    for (std::size_t row = 0; row < height; ++row) {
      const std::uint8_t* pixel = rgb + row * width * 3;
      std::uint8_t* out = indices + static_cast<std::ptrdiff_t>(row) * stride;
      for (std::size_t x = 0; x < width; ++x, pixel += 3) out[x] = entry_of_color(rgb_at(pixel));
    }
  };
  clear();
  used_ = kColors;  // full: the next frame starts a palette of its own
  if (!count_distinct(rgb, width * height)) {
    median_cut(rgb, width * height);
    for_each_pixel([&](std::uint32_t color) { return reduced_entry_[bin_of(color)]; });
    return;
  }
  // The most frequent colours; ties by colour, so that the palette depends on the frame alone.
  std::vector<std::pair<std::uint32_t, std::uint32_t>> candidates;  // (count, colour)
  for (std::size_t slot = 0; slot < kReducedSlots; ++slot)
    if (reduced_color_[slot] != 0) candidates.emplace_back(reduced_count_[slot], reduced_color_[slot] & 0xFFFFFF);
  const std::size_t kept = std::min(kColors, candidates.size());
  std::partial_sort(candidates.begin(), candidates.begin() + static_cast<std::ptrdiff_t>(kept), candidates.end(),
                    [](const auto& a, const auto& b) { return a.first != b.first ? a.first > b.first : a.second < b.second; });
  for (std::size_t k = 0; k < kept; ++k) entries_[k] = kOpaque | candidates[k].second;
  // Every colour's entry: its own or the nearest.
  reduced_entry_.assign(kReducedSlots, 0);
  for (std::size_t slot = 0; slot < kReducedSlots; ++slot) {
    if (reduced_color_[slot] == 0) continue;
    int best_distance = std::numeric_limits<int>::max();
    for (std::size_t k = 0; k < kept && best_distance != 0; ++k)
      if (const int d = distance2(reduced_color_[slot] & 0xFFFFFF, entries_[k]); d < best_distance)
        reduced_entry_[slot] = static_cast<std::uint8_t>(k), best_distance = d;
  }
  for_each_pixel([&](std::uint32_t color) { return reduced_entry_[slot_of(reduced_color_, color, kReducedSlotBits)]; });
}

void GifPalette::median_cut(const std::uint8_t* rgb, std::size_t pixels) {
  constexpr std::size_t kBins = 1 << 15;
  counts_.assign(kBins, 0);
  sums_.assign(3 * kBins, 0);
  for (std::size_t i = 0; i < pixels; ++i) {
    const std::uint32_t bin = bin_of(rgb_at(rgb + 3 * i));
    ++counts_[bin];
    for (int c = 0; c < 3; ++c) sums_[3 * bin + c] += rgb[3 * i + c];
  }
  std::vector<std::uint32_t> bins;
  for (std::uint32_t bin = 0; bin < kBins; ++bin)
    if (counts_[bin] != 0) bins.push_back(bin);
  // A box: bins [begin, end), its pixels, its longest side (in bin steps) and that side's channel
  // (0 red: bits 10-14 of a bin, 1 green, 2 blue).
  struct Box {
    std::size_t begin, end;
    std::uint64_t pixels = 0;
    int side = 0, channel = 0;
  };
  const auto coordinate = [](std::uint32_t bin, int channel) { return static_cast<int>(bin >> (10 - 5 * channel) & 31); };
  const auto measured = [&](std::size_t begin, std::size_t end) {
    Box box{begin, end};
    int low[3] = {31, 31, 31}, high[3] = {0, 0, 0};
    for (std::size_t k = begin; k < end; ++k) {
      box.pixels += counts_[bins[k]];
      for (int c = 0; c < 3; ++c) low[c] = std::min(low[c], coordinate(bins[k], c)), high[c] = std::max(high[c], coordinate(bins[k], c));
    }
    for (int c = 0; c < 3; ++c)
      if (high[c] - low[c] > box.side) box.side = high[c] - low[c], box.channel = c;
    return box;
  };
  std::vector<Box> boxes{measured(0, bins.size())};
  while (boxes.size() < kColors) {
    // Split the box of most pixels times its longest side, at the pixel median along that side.
    const auto widest = std::ranges::max_element(boxes, {}, [](const Box& b) { return b.pixels * std::uint64_t(b.side); });
    if (widest->side == 0) break;  // every box is one bin
    const Box box = *widest;
    const int c = box.channel;
    const auto first = bins.begin() + static_cast<std::ptrdiff_t>(box.begin), last = bins.begin() + static_cast<std::ptrdiff_t>(box.end);
    std::sort(first, last, [&](std::uint32_t a, std::uint32_t b) {
      return coordinate(a, c) != coordinate(b, c) ? coordinate(a, c) < coordinate(b, c) : a < b;
    });
    std::size_t split = box.begin + 1;
    for (std::uint64_t below = counts_[bins[box.begin]]; split + 1 < box.end && 2 * below < box.pixels; ++split)
      below += counts_[bins[split]];
    *widest = measured(box.begin, split);
    boxes.push_back(measured(split, box.end));
  }
  reduced_entry_.assign(kBins, 0);
  for (std::size_t k = 0; k < boxes.size(); ++k) {
    std::uint64_t sum[3] = {0, 0, 0};
    for (std::size_t i = boxes[k].begin; i < boxes[k].end; ++i) {
      for (int c = 0; c < 3; ++c) sum[c] += sums_[3 * bins[i] + c];
      reduced_entry_[bins[i]] = static_cast<std::uint8_t>(k);
    }
    std::uint32_t mean = 0;
    for (int c = 0; c < 3; ++c) mean = mean << 8 | static_cast<std::uint32_t>((sum[c] + boxes[k].pixels / 2) / boxes[k].pixels);
    entries_[k] = kOpaque | mean;
  }
  // Two boxes of the same mean: the later one's bins take the earlier entry. FFmpeg's encoder
  // merges equal entries and maps a pixel of the later one to entry 0.
  for (std::size_t k = 1; k < boxes.size(); ++k) {
    const auto first = std::find(entries_.begin(), entries_.begin() + static_cast<std::ptrdiff_t>(k), entries_[k]);
    if (first == entries_.begin() + static_cast<std::ptrdiff_t>(k)) continue;
    for (std::size_t i = boxes[k].begin; i < boxes[k].end; ++i)
      reduced_entry_[bins[i]] = static_cast<std::uint8_t>(first - entries_.begin());
  }
}

void GifPalette::index(const std::uint8_t* rgb, std::size_t width, std::size_t height, std::uint8_t* indices,
                       std::ptrdiff_t stride) {
  // The palette so far, with this frame's new colours added; failing that, one of this frame's
  // colours alone; failing that, this frame reduced.
  if (reduced_ || !index_exactly(rgb, width, height, indices, stride)) {
    if (frames_ != 0) first_generation_ = false;  // the encoder holds frame 0's palette
    clear();
    reduced_ = !index_exactly(rgb, width, height, indices, stride);
    if (reduced_) index_reduced(rgb, width, height, indices, stride);
  }
  if (!first_generation_) entries_[0] = (entries_[0] & 0xFFFFFF) | kLaterGeneration;
  ++frames_;
}

}  // namespace evlib::render::detail
