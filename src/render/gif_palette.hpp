#pragma once
// The palettes of GIF frames (FFmpeg's PAL8 input): a frame of at most 256 colours is written
// exactly, with the palette kept from frame to frame while the colours fit. A frame of more
// colours gets the 256 most frequent of them, every other colour the nearest of those (of up to
// 4096 colours; past that, 256 colours by a median cut of the 15-bit histogram).
//
// FFmpeg 5.1's encoder keeps the first frame's palette: a later frame given the same palette is
// cropped to what changed and its unchanged pixels made transparent, by comparing its indices with
// the previous frame's; any other palette is written whole with the frame. Comparing indices is
// only right when the previous frame had the same palette, so a palette started afresh after the
// first frame is never made equal to it: its entry 0 carries alpha 0xFE (FFmpeg writes only RGB),
// where the first generation's entries are opaque. No entry is transparent (alpha below 128): the
// encoder then takes, per frame, an index the frame does not use as its transparent colour.
#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace evlib::render::detail {

class GifPalette {
 public:
  // FFmpeg's PAL8 palette entries: 0xAARRGGBB, alpha 0xFF (0xFE: entry 0 after a fresh start).
  using Entries = std::array<std::uint32_t, 256>;
  static constexpr std::size_t kColors = 256;

  GifPalette() { clear(); }

  // Each pixel of `rgb` (height rows of width * 3 bytes) as an index into `entries()`, written
  // to rows of `indices` `stride` bytes apart.
  void index(const std::uint8_t* rgb, std::size_t width, std::size_t height, std::uint8_t* indices, std::ptrdiff_t stride);
  const Entries& entries() const noexcept { return entries_; }
  // Whether the last frame was reduced to kColors colours (it held more).
  bool reduced() const noexcept { return reduced_; }

 private:
  // The index of `rgb` (R << 16 | G << 8 | B), added when new; -1 when the palette is full.
  int index_of(std::uint32_t rgb);
  bool index_exactly(const std::uint8_t* rgb, std::size_t width, std::size_t height, std::uint8_t* indices,
                     std::ptrdiff_t stride);
  void index_reduced(const std::uint8_t* rgb, std::size_t width, std::size_t height, std::uint8_t* indices,
                     std::ptrdiff_t stride);
  // Starts a palette afresh: no colour; after the first frame, marked (entry 0's alpha).
  void clear();

  // Open addressing: colour | 1 << 24 per used slot (0: empty), its index in slot_index_.
  static constexpr int kSlotBits = 10;
  static constexpr std::size_t kSlots = std::size_t{1} << kSlotBits;
  std::array<std::uint32_t, kSlots> slot_color_{};
  std::array<std::uint8_t, kSlots> slot_index_{};
  Entries entries_{};
  std::size_t used_ = 0;
  bool first_generation_ = true;  // no fresh start since the first frame's palette
  std::uint64_t frames_ = 0;
  bool reduced_ = false;
  // The reduction's colours (open addressing as above, kReducedSlots of them) and counts, or its
  // 15-bit histogram and sums; kept allocated.
  static constexpr int kReducedSlotBits = 13;
  static constexpr std::size_t kReducedSlots = std::size_t{1} << kReducedSlotBits, kReducedColors = kReducedSlots / 2;
  bool count_distinct(const std::uint8_t* rgb, std::size_t pixels);
  // Beyond kReducedColors: entries_ from a median cut of the 15-bit histogram (Heckbert), each
  // bin's entry in reduced_entry_.
  void median_cut(const std::uint8_t* rgb, std::size_t pixels);
  std::vector<std::uint32_t> reduced_color_, reduced_count_;
  std::vector<std::uint8_t> reduced_entry_;
  std::vector<std::uint32_t> counts_;
  std::vector<std::uint64_t> sums_;
};

}  // namespace evlib::render::detail
