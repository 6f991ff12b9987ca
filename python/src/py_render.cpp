// Rendering (include/evlib/render/) for Python: a frame generator over an iterator of batches
// (evlib Batch objects, shared without copying, or (t, x, y, p) NumPy column tuples, copied), the
// dv-processing Accumulator clone, PNG encoding, and a video writer. evlib.render builds its API
// on these. Rendering runs with the GIL released, so that other Python threads run meanwhile; the
// generator takes the GIL back only to pull the next item from the Python iterator.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "evlib/render/frame_generator.hpp"
#include "evlib/render/png_image.hpp"
#include "evlib/render/time_decay.hpp"
#include "evlib/render/video_writer.hpp"
#include "py_batch.hpp"

namespace evlib::python {
namespace nb = nanobind;
using namespace evlib::render;

namespace {

template <class T>
using EventColumn = nb::ndarray<const T, nb::ndim<1>, nb::c_contig, nb::device::cpu>;
using RgbIn = nb::ndarray<const std::uint8_t, nb::ndim<3>, nb::c_contig, nb::device::cpu>;

// One item of the Python iterator, taken with the GIL held: an evlib Batch is shared, a column
// tuple copied. A compat-layout Batch may hold evlib 0.13's polarity values in its p column
// (OFF -1, Batch::map_polarity_in_place()); mapped_on is then the value that means ON, and the
// column is mapped back to 0/1 (without the GIL) before rendering, which reads p != 0 as ON.
struct PulledBatch {
  EventBatch events;
  std::optional<std::uint8_t> mapped_on;
};

PulledBatch pull_batch(nb::handle item) {
  if (nb::isinstance<Batch>(item)) {
    const auto& batch = nb::cast<const Batch&>(item);
    if (batch.polarity_in_place()) return {batch.events, static_cast<std::uint8_t>(batch.layout->polarity_on)};
    return {batch.events, std::nullopt};
  }
  auto columns = nb::cast<nb::tuple>(item);
  if (columns.size() != 4) throw std::invalid_argument("render: a batch must be an evlib Batch or a (t, x, y, p) tuple");
  const auto t = nb::cast<EventColumn<std::int64_t>>(columns[0]);
  const auto x = nb::cast<EventColumn<std::uint16_t>>(columns[1]);
  const auto y = nb::cast<EventColumn<std::uint16_t>>(columns[2]);
  const auto p = nb::cast<EventColumn<std::uint8_t>>(columns[3]);
  const std::size_t n = t.shape(0);
  if (x.shape(0) != n || y.shape(0) != n || p.shape(0) != n)
    throw std::invalid_argument("render: the t, x, y and p columns differ in length");
  return {EventBatch::copy_of(EventView(t.data(), x.data(), y.data(), p.data(), n)), std::nullopt};
}

// events with p mapped to 1 where it equals `on`, else 0 (a new p column; t, x, y shared).
EventBatch with_native_polarity(const EventBatch& events, std::uint8_t on) {
  struct Columns {
    std::shared_ptr<const void> shared;  // t, x, y of the original batch
    std::vector<std::uint8_t> p;
  };
  auto columns = std::make_shared<Columns>(Columns{events.owner(), std::vector<std::uint8_t>(events.size())});
  const std::span<const std::uint8_t> mapped = events.p();
  for (std::size_t k = 0; k < mapped.size(); ++k) columns->p[k] = mapped[k] == on ? 1 : 0;
  const std::uint8_t* p = columns->p.data();
  EventBatch out = EventBatch::wrap(EventView(events.t().data(), events.x().data(), events.y().data(), p, events.size()),
                                    std::move(columns));
  out.metadata = events.metadata;
  return out;
}

Palette palette_of(const std::string& palette, const std::string& colors) {
  return colors.empty() ? palette_by_name(palette) : palette_from_colors(colors);
}

// An HxWx3 NumPy array owning `rgb` (moved, not copied).
nb::object rgb_array(std::vector<std::uint8_t> rgb, std::uint32_t width, std::uint32_t height) {
  auto* owned = new std::vector<std::uint8_t>(std::move(rgb));
  nb::capsule owner(owned, [](void* p) noexcept { delete static_cast<std::vector<std::uint8_t>*>(p); });
  const std::size_t shape[3] = {height, width, 3};
  return nb::cast(nb::ndarray<nb::numpy, std::uint8_t>(owned->data(), 3, shape, owner), nb::rv_policy::reference);
}

struct PyFrameGenerator {
  nb::object iterator;
  std::optional<FrameGenerator> generator;
  bool running = false;  // read and set with the GIL held: one next() at a time

  // Returns (t_us, window_start_us, events, frame) or None at the end. The frame is rendered
  // without the GIL (the source callback takes it back for each pull).
  nb::object next() {
    if (running) throw std::runtime_error("FrameGenerator.next() is already running in another thread");
    running = true;
    struct Done {
      bool& flag;
      ~Done() { flag = false; }  // the GIL is held again when this runs
    } done{running};
    const Frame* f = nullptr;
    std::vector<std::uint8_t> rgb;
    {
      nb::gil_scoped_release release;
      f = generator->next();
      if (f != nullptr) rgb.assign(f->rgb.begin(), f->rgb.end());
    }
    if (f == nullptr) return nb::none();
    return nb::make_tuple(f->t_us, f->window_start_us, f->events, rgb_array(std::move(rgb), f->width, f->height));
  }
};

}  // namespace

void bind_render(nb::module_& m) {
  nb::class_<PyFrameGenerator>(m, "FrameGenerator", "Frames of an iterator of batches (evlib.render.frames).")
      .def(
          "__init__",
          [](PyFrameGenerator* self, nb::object batches, std::uint32_t width, std::uint32_t height,
             const std::string& mode, const std::string& palette, const std::string& colors, std::int64_t accumulate_us,
             double fps, double speed, std::optional<std::int64_t> from_us, std::optional<std::int64_t> to_us,
             unsigned count_saturation, double decay_param, bool synchronous_decay, float contribution,
             float max_potential, float neutral_potential, float min_potential, bool ignore_polarity, bool overlay,
             std::optional<std::int64_t> events_end_bound_us) {
            RenderOptions o;
            o.overlay = overlay;
            o.events_end_bound_us = events_end_bound_us;
            o.mode.mode = mode_by_name(mode);
            o.mode.palette = palette_of(palette, colors);
            o.mode.count_saturation = count_saturation;
            o.mode.decay = {.linear = false,
                            .decay_param = decay_param,
                            .synchronous_decay = synchronous_decay,
                            .contribution = contribution,
                            .max_potential = max_potential,
                            .neutral_potential = neutral_potential,
                            .min_potential = min_potential,
                            .ignore_polarity = ignore_polarity};
            o.accumulate_us = accumulate_us;
            o.fps = fps;
            o.speed = speed;
            o.from_us = from_us;
            o.to_us = to_us;
            new (self) PyFrameGenerator{nb::iter(batches), std::nullopt};
            // nanobind runs no destructor when __init__ throws: a refused generator (a frame too
            // large for memory) would keep the iterator, and the batches it holds, forever.
            struct Unwind {
              PyFrameGenerator* self;
              ~Unwind() {
                if (self != nullptr) self->~PyFrameGenerator();
              }
            } unwind{self};
            nb::handle it = self->iterator;
            self->generator.emplace(
                [it]() -> std::optional<EventBatch> {
                  // Called from next() with the GIL released.
                  PulledBatch pulled;
                  {
                    nb::gil_scoped_acquire gil;
                    PyObject* item = PyIter_Next(it.ptr());
                    if (item == nullptr) {
                      if (PyErr_Occurred()) throw nb::python_error();
                      return std::nullopt;
                    }
                    nb::object owned = nb::steal(item);
                    pulled = pull_batch(owned);
                  }
                  if (pulled.mapped_on) return with_native_polarity(pulled.events, *pulled.mapped_on);
                  return std::move(pulled.events);
                },
                ops::SensorSize{width, height}, o);
            unwind.self = nullptr;
          },
          nb::arg("batches"), nb::arg("width"), nb::arg("height"), nb::arg("mode"), nb::arg("palette"),
          nb::arg("colors"), nb::arg("accumulate_us"), nb::arg("fps"), nb::arg("speed"), nb::arg("from_us").none(),
          nb::arg("to_us").none(), nb::arg("count_saturation"), nb::arg("decay_param"), nb::arg("synchronous_decay"),
          nb::arg("contribution"), nb::arg("max_potential"), nb::arg("neutral_potential"), nb::arg("min_potential"),
          nb::arg("ignore_polarity"), nb::arg("overlay") = false, nb::arg("events_end_bound_us").none() = nb::none())
      .def("next", &PyFrameGenerator::next, "(t_us, window_start_us, events, HxWx3 uint8) or None at the end.")
      .def_prop_ro("period_us", [](const PyFrameGenerator& g) { return g.generator->period_us(); })
      .def_prop_ro("max_held_events", [](const PyFrameGenerator& g) { return g.generator->max_held_events(); });

  m.def(
      "render_palettes", [] {
        nb::list out;
        for (const Palette& p : named_palettes()) out.append(p.name);
        return out;
      },
      "The names of the built-in palettes.");
  m.def(
      "encode_png",
      [](const RgbIn& rgb) {
        std::vector<std::uint8_t> bytes;
        {
          nb::gil_scoped_release release;
          bytes = encode_png({rgb.data(), rgb.size()}, static_cast<std::uint32_t>(rgb.shape(1)),
                             static_cast<std::uint32_t>(rgb.shape(0)));
        }
        return nb::bytes(reinterpret_cast<const char*>(bytes.data()), bytes.size());
      },
      nb::arg("rgb"), "PNG bytes of an HxWx3 uint8 image.");
  nb::class_<DvAccumulator>(m, "DvAccumulator", "dv-processing 2.0.4's Accumulator (LINEAR / EXPONENTIAL decay).")
      .def(
          "__init__",
          [](DvAccumulator* self, std::uint32_t width, std::uint32_t height, bool linear, double decay_param,
             bool synchronous_decay, float contribution, float max_potential, float neutral_potential,
             float min_potential, bool ignore_polarity) {
            new (self) DvAccumulator({width, height}, {linear, decay_param, synchronous_decay, contribution,
                                                       max_potential, neutral_potential, min_potential, ignore_polarity});
          },
          nb::arg("width"), nb::arg("height"), nb::arg("linear") = false, nb::arg("decay_param") = 1.0e6,
          nb::arg("synchronous_decay") = false, nb::arg("contribution") = 0.15f, nb::arg("max_potential") = 1.0f,
          nb::arg("neutral_potential") = 0.0f, nb::arg("min_potential") = 0.0f, nb::arg("ignore_polarity") = false)
      .def("accumulate",
           [](DvAccumulator& a, const EventColumn<std::int64_t>& t, const EventColumn<std::uint16_t>& x,
              const EventColumn<std::uint16_t>& y, const EventColumn<std::uint8_t>& p) {
             const std::size_t n = t.shape(0);
             if (x.shape(0) != n || y.shape(0) != n || p.shape(0) != n)
               throw std::invalid_argument("accumulator: the t, x, y and p columns differ in length");
             nb::gil_scoped_release release;
             a.accumulate(EventView(t.data(), x.data(), y.data(), p.data(), n));
           })
      .def("potentials",
           [](const DvAccumulator& a) {
             const auto v = a.potentials();
             auto* owned = new std::vector<float>(v.begin(), v.end());
             nb::capsule owner(owned, [](void* q) noexcept { delete static_cast<std::vector<float>*>(q); });
             const std::size_t shape[1] = {owned->size()};
             return nb::ndarray<nb::numpy, float>(owned->data(), 1, shape, owner);
           })
      .def("generate_frame", [](DvAccumulator& a, nb::ndarray<std::uint8_t, nb::c_contig, nb::device::cpu> out) {
        nb::gil_scoped_release release;
        a.generate_frame({out.data(), out.size()});
      });
  m.def(
      "time_decay_colors",
      [](const std::string& palette, const std::string& colors) {
        const TimeDecayColors table = time_decay_colors(palette_of(palette, colors));
        std::vector<std::uint8_t> rgb;
        for (const Rgb& c : table) rgb.insert(rgb.end(), {c.r, c.g, c.b});
        return rgb_array(std::move(rgb), 1, static_cast<std::uint32_t>(table.size()));
      },
      nb::arg("palette"), nb::arg("colors") = "",
      "OpenEB's 257-colour CIE Lab map of the time-decay mode, as a 257x1x3 uint8 array (OFF, background, ON).");
  m.def(
      "fast_exp_decay", [](float v) { return FastExpDecay{}(v); }, nb::arg("v"),
      "OpenEB's Math::fast_exp_decay with its 32-entry table: exp(-v), piecewise linear, 0 past log 32.");
  m.def("video_available", &video_available, "Whether this build writes videos (FFmpeg's libraries).");

  struct PyVideoWriter {
    std::unique_ptr<VideoWriter> writer;
    std::uint32_t width, height;
    std::mutex busy;  // write/finish run without the GIL: discard from another thread waits for them
  };
  nb::class_<PyVideoWriter>(m, "VideoWriter", "A video of RGB frames (evlib.render.to_video).")
      .def(
          "__init__",
          [](PyVideoWriter* self, const std::string& path, std::uint32_t width, std::uint32_t height, double fps,
             const std::string& codec, bool overwrite, const std::string& preset, int crf,
             const std::string& x264_params, int threads) {
            if (crf > 51 || crf < -1) throw std::invalid_argument("video: crf must be 0 to 51 (or -1: evlib's default, 18)");
            if (threads < 0) throw std::invalid_argument("video: threads must be 0 (one per hardware thread) or more");
            VideoOptions o;
            o.fps = fps;
            o.codec = codec;
            o.overwrite = overwrite;
            if (!preset.empty()) o.preset = preset;
            if (crf >= 0) o.crf = crf;
            o.x264_params = x264_params;
            o.threads = threads;
            std::unique_ptr<VideoWriter> writer;
            {
              nb::gil_scoped_release release;  // opens the encoder (and loads FFmpeg's libraries)
              writer = std::make_unique<VideoWriter>(path, width, height, o);
            }
            new (self) PyVideoWriter{std::move(writer), width, height};
          },
          nb::arg("path"), nb::arg("width"), nb::arg("height"), nb::arg("fps"), nb::arg("codec") = "",
          nb::arg("overwrite") = true, nb::arg("preset") = "", nb::arg("crf") = -1, nb::arg("x264_params") = "",
          nb::arg("threads") = 0,
          "preset, crf, x264_params: libx264's (empty / -1: evlib's defaults, \"fast\" and 18); threads: the "
          "encoder's (0: one per hardware thread).")
      .def("write",
           [](PyVideoWriter& w, const RgbIn& rgb) {
             if (rgb.shape(0) != w.height || rgb.shape(1) != w.width || rgb.shape(2) != 3)
               throw std::invalid_argument("video: the frame is not " + std::to_string(w.height) + "x" +
                                           std::to_string(w.width) + "x3");
             nb::gil_scoped_release release;
             const std::lock_guard lock(w.busy);
             if (!w.writer) throw std::invalid_argument("video: the writer was discarded");
             w.writer->write({rgb.data(), rgb.size()});
           })
      .def("finish",
           [](PyVideoWriter& w) {
             nb::gil_scoped_release release;
             const std::lock_guard lock(w.busy);
             if (!w.writer) throw std::invalid_argument("video: the writer was discarded");
             w.writer->finish();
           })
      .def(
          "discard",
          [](PyVideoWriter& w) {
            nb::gil_scoped_release release;
            const std::lock_guard lock(w.busy);
            w.writer.reset();  // stops the encoder's threads and removes the temporary file
          },
          "Stops the encoder and removes the unfinished file now (not when the object is collected).")
      .def_prop_ro("codec", [](PyVideoWriter& w) {
        const std::lock_guard lock(w.busy);
        if (!w.writer) throw std::invalid_argument("video: the writer was discarded");
        return w.writer->codec();
      });
}

}  // namespace evlib::python
