// libFuzzer target: the ECF block decoder of Prophesee HDF5 files (src/formats/prophesee/ecf.hpp).
//
// The input is one ECF block, unchanged (the spec vectors of docs/formats.md 7.4 are the seeds).
// Oracles (each failure is a __builtin_trap()):
//   - decoding into columns sized exactly to the announced count (plain vectors, so ASan sees
//     any write past them) never reads past the block and, on success, yields exactly N events
//     and consumes at most the block;
//   - the consumed bytes alone decode to the same events (no look-ahead past what was consumed);
//   - with room for one event fewer than N the decoder refuses, having written nothing past it;
//   - events that ECF can hold (x, y < 2048, non-decreasing t) survive a re-encode in each of the
//     three modes and decode back identically.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "formats/prophesee/ecf.hpp"
#include "fuzz_common.hpp"

namespace {

namespace ecf = evlib::detail::ecf;

struct Decoded {
  ecf::DecodeResult result;
  std::vector<std::int64_t> t;
  std::vector<std::uint16_t> x, y;
  std::vector<std::uint8_t> p;
};

Decoded decode(const std::uint8_t* data, std::size_t size, std::size_t capacity) {
  // An exact-size copy of the input: the decoder must not read past it either.
  const std::vector<std::uint8_t> block(data, data + size);
  Decoded d;
  d.t.resize(capacity);
  d.x.resize(capacity);
  d.y.resize(capacity);
  d.p.resize(capacity);
  d.result = ecf::decode(block, {d.t.data(), d.x.data(), d.y.data(), d.p.data()}, capacity);
  const std::size_t n = d.result.ok() ? d.result.events : 0;
  d.t.resize(n);
  d.x.resize(n);
  d.y.resize(n);
  d.p.resize(n);
  return d;
}

bool same_events(const Decoded& a, const Decoded& b) { return a.t == b.t && a.x == b.x && a.y == b.y && a.p == b.p; }

bool encodable(const Decoded& d) {
  for (std::size_t i = 0; i < d.t.size(); ++i) {
    if (d.x[i] >= ecf::kCoordinateLimit || d.y[i] >= ecf::kCoordinateLimit) return false;
    if (i > 0 && d.t[i] < d.t[i - 1]) return false;  // timestamps may wrap in hostile blocks
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto announced = ecf::block_event_count({data, size});
  const std::size_t capacity = announced ? *announced : ecf::kMaxEvents;
  const Decoded d = decode(data, size, capacity);
  if (!d.result.ok()) {
    EVLIB_FUZZ_CHECK(d.result.error_offset <= size);
    return 0;
  }
  EVLIB_FUZZ_CHECK(announced.has_value());
  EVLIB_FUZZ_CHECK(d.result.events == *announced);
  EVLIB_FUZZ_CHECK(d.result.bytes <= size);
  for (std::uint8_t p : d.p) EVLIB_FUZZ_CHECK(p <= 1);

  const Decoded prefix = decode(data, d.result.bytes, capacity);
  EVLIB_FUZZ_CHECK(prefix.result.ok());
  EVLIB_FUZZ_CHECK(same_events(prefix, d));

  if (d.result.events > 0) EVLIB_FUZZ_CHECK(!decode(data, size, d.result.events - 1).result.ok());

  if (encodable(d)) {
    for (ecf::Mode mode : {ecf::Mode::yxp_packed, ecf::Mode::xp_packed, ecf::Mode::masked_x}) {
      std::vector<std::uint8_t> block;
      ecf::encode({d.t, d.x, d.y, d.p}, block, mode);
      const Decoded again = decode(block.data(), block.size(), d.result.events);
      EVLIB_FUZZ_CHECK(again.result.ok());
      EVLIB_FUZZ_CHECK(again.result.bytes == block.size());
      EVLIB_FUZZ_CHECK(same_events(again, d));
    }
  }
  return 0;
}
