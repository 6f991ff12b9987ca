#pragma once
// Block decoders of EVT 2.0, EVT 2.1 and DAT (evt2_simd.cpp, evt21_simd.cpp, dat_simd.cpp): runs of
// the common words decoded many at a time with AVX-512 or AVX2, chosen at run time. Each takes
// only blocks it decodes exactly as the scalar loop would (same events, same counters: none of
// them change inside a block it takes) and returns at the first block it does not take, which
// the scalar loop, the reference, then decodes word by word.
#include <cstddef>
#include <cstdint>

#include "formats/common/decoder_support.hpp"  // PushedFilter

namespace evlib::detail {

// The widest block decoder to use. Config structs carry a limit, so that tests can force each
// path this CPU has; decoders use the smaller of the limit and what the CPU supports.
enum class BlockIsa : std::uint8_t { kScalar = 0, kAvx2 = 1, kAvx512 = 2 };
BlockIsa cpu_block_isa();  // AVX-512 needs F, BW, VL, CD, VBMI and VBMI2; AVX2 needs AVX2, BMI2, POPCNT
// The environment's cap: EVLIB_MAX_BLOCK_ISA=avx2 or scalar (read once, at the first decoder),
// so that one machine can measure the paths of older CPUs; unset or anything else: no cap.
// cpu_block_isa() and EVT 3.0's AVX-512 check honour it.
BlockIsa block_isa_limit_from_env();
inline BlockIsa usable_block_isa(BlockIsa limit) {
  const BlockIsa cpu = cpu_block_isa();
  return limit < cpu ? limit : cpu;
}

// Where a block decoder writes: the sink's columns from slot n. A block writes whole vectors, up
// to kBlockRoom slots past n (slots past its events belong to later words, which overwrite them),
// so it runs only while capacity - n >= kBlockRoom.
struct BlockColumns {
  std::int64_t* t;
  std::uint16_t* x;
  std::uint16_t* y;
  std::uint8_t* p;
  std::size_t n;
};

// EVT 2.0: blocks of 16 words (AVX-512) or 8 (AVX2) holding only CD and TIME_HIGH words, CD
// events inside width x height, and TIME_HIGH values that never go below the one before them
// (no wrap, no backwards step). th is the TIME_HIGH in effect, carried across the lanes and the
// blocks; t = epoch + th * 64 + lsb with epoch = loops * 2^34 - shift. Returns the words decoded.
inline constexpr std::size_t kEvt2BlockRoom = 16;
// With a filter (the pushed-down predicate; nullptr: none) only the events it accepts are written.
std::size_t evt2_blocks(BlockIsa isa, const std::uint8_t* bytes, std::size_t words, std::uint32_t& th,
                        std::int64_t epoch, BlockColumns& out, std::size_t capacity, std::uint32_t width,
                        std::uint32_t height, const PushedFilter* filter);
std::size_t evt2_block_words(BlockIsa isa);  // the words of one block (the fallback's stride)

// DAT (version 2 CD records): blocks of 16 records (AVX-512) or 8 (AVX2) with x < width,
// y < height and no 32-bit time wrap inside (a record whose time drops by more than 2^31 from the
// one before); times are loops + t32. last_t32 is carried across blocks. Returns the records decoded.
inline constexpr std::size_t kDatBlockRoom = 16;
std::size_t dat_blocks(BlockIsa isa, const std::uint8_t* bytes, std::size_t records, std::uint32_t& last_t32,
                       std::int64_t loops, BlockColumns& out, std::size_t capacity, std::uint32_t width,
                       std::uint32_t height, const PushedFilter* filter);
std::size_t dat_block_records(BlockIsa isa);

// EVT 2.1: words while each is a CD word whose events all fall inside width x height or a
// TIME_HIGH word not below th (no wrap, no backwards step); legacy: the header half comes first
// (docs/formats.md 3.1). AVX-512 takes eight such words a step, their events listed by
// compressing bit positions and their columns picked by permutes, and needs kEvt21BlockRoom
// slots past out.n for it; a word at a time (AVX2, and AVX-512 next to an unusual word) needs
// kEvt21WordRoom. Returns the words decoded; th as in evt2_blocks. With a filter (nullptr: none)
// only the events it accepts are written, and only by AVX-512's eight-word steps (AVX2 returns 0).
inline constexpr std::size_t kEvt21BlockRoom = 256;
inline constexpr std::size_t kEvt21WordRoom = 32;
std::size_t evt21_blocks(BlockIsa isa, const std::uint8_t* bytes, std::size_t words, bool legacy, std::uint32_t& th,
                         std::int64_t epoch, BlockColumns& out, std::size_t capacity, std::uint32_t width,
                         std::uint32_t height, const PushedFilter* filter);

// The stateless upper bound of EVT 2.1 streaming (`evlib bench --stream`'s ceiling): every CD
// word's mask expanded into columns with t = its 6-bit time, no TIME_HIGH, no validation.
// Writes from out.n, kEvt21BlockRoom slots past the events at most, and advances out.n; returns
// the words expanded, a multiple of eight (AVX-512; 0 elsewhere: the caller expands the rest).
std::size_t evt21_expand_stateless(BlockIsa isa, const std::uint8_t* bytes, std::size_t words, bool legacy,
                                   BlockColumns& out);

}  // namespace evlib::detail
