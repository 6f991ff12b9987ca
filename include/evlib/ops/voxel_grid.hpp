#pragma once
// Voxel grid: each event's polarity spread over the two nearest time bins by linear weights,
// in E2VID's convention or in tonic's (docs/processing.md "Voxel grid"). Defined over one whole
// window: its first and last event times set the time scale, so a window is binned in one call.
#include <cstdint>
#include <span>
#include <vector>

#include "evlib/ops/common.hpp"

namespace evlib::ops {

enum class VoxelConvention {
  kE2vid,  // rpg_e2vid events_to_voxel_grid: scale bins - 1, last event on the last bin
  kTonic,  // tonic ToVoxelGrid: scale bins, the events at the last time fall off the grid
};

enum class VoxelPolarity {
  kSigned,  // OFF counts -1, ON +1 (E2VID; tonic on integer polarities)
  kAllOn,   // every event +1: what tonic computes on its boolean-polarity event arrays
};

struct VoxelGridOptions {
  SensorSize sensor;
  unsigned bins = 5;
  VoxelConvention convention = VoxelConvention::kE2vid;
  VoxelPolarity polarity = VoxelPolarity::kSigned;
  // E2VID's normalisation: over the non-zero voxels, (v - mean) / std; zeros stay 0.
  bool normalize = false;
};

// Fills out (bins * height * width values, layout (bin, y, x)) with the window's voxel grid.
// T = float accumulates as E2VID does (float32 buffer, float64 weights, left weights of every
// event, then right weights, each in event order); T = double as tonic does. Events outside the
// sensor are left out.
template <class T>
void voxel_grid(EventView window, const VoxelGridOptions& options, std::span<T> out);
template <class T>
std::vector<T> voxel_grid(EventView window, const VoxelGridOptions& options);
// The same into an output that holds zeros already (a fresh calloc block: pages the kernel
// zeroed), which is not written with zeros a second time.
template <class T>
void voxel_grid_into_zeroed(EventView window, const VoxelGridOptions& options, std::span<T> out);

}  // namespace evlib::ops
