#include "evlib/filter.hpp"

namespace evlib {

std::size_t EventFilter::apply(EventBatch& batch) const {
  std::int64_t* t = batch.t_data();
  std::uint16_t* x = batch.x_data();
  std::uint16_t* y = batch.y_data();
  std::uint8_t* p = batch.p_data();
  std::size_t kept = 0;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    // Branch-free compaction: always copy, advance only when the event passes.
    t[kept] = t[i];
    x[kept] = x[i];
    y[kept] = y[i];
    p[kept] = p[i];
    kept += accepts(t[i], x[i], y[i], p[i]) ? 1 : 0;
  }
  batch.set_size(kept);
  return kept;
}

}  // namespace evlib
