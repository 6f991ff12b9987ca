#pragma once
// Inputs shared by the benchmark suites and the instruction-count probe: a seeded synthetic
// scene, files written with evlib::Writer in a scratch directory, event payloads without their
// headers, and an EVT 2.1 encoder (evlib writes no EVT 2.1, but its decoder needs an input).
// Everything here is deterministic: same event count, same bytes.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "evlib/event_batch.hpp"

namespace evlib::bench {

inline constexpr std::uint32_t kWidth = 1280;   // Gen4 geometry
inline constexpr std::uint32_t kHeight = 720;

// `count` events of the default synthetic scene (seed 1, 1280x720, no triggers).
EventBatch scene(std::size_t count, std::uint64_t seed = 1);

// A scratch directory for benchmark files, created on first use and removed at exit:
// $EVLIB_BENCH_DIR if set, else /dev/shm (tmpfs, so that fsync and disk speed stay out of the
// numbers) when writable, else the system temporary directory.
const std::string& scratch_dir();

// Writes events to scratch_dir()/<name> as `format` and returns the path (replaces the file).
std::string write_file(const std::string& name, const std::string& format, const EventBatch& events);

// The bytes of a file from its event payload on (the header, if any, left out).
std::vector<std::uint8_t> payload_of(const std::string& path);

// EVT 2.1 words (little half-word order) for events in time order: a TIME_HIGH whenever t / 64
// changes, and one CD word per run of events with equal (t, y, p) whose x increase inside one
// 32-aligned column block (so decoding restores the exact order). Payload only, no header.
std::vector<std::uint8_t> encode_evt21(const EventBatch& events);

// Reads the whole file into the page cache (benchmarks measure decoding, not the disk).
void warm(const std::string& path);

}  // namespace evlib::bench
