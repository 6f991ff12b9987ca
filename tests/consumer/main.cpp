// Writes a small synthetic EVT 3.0 recording, streams it back and checks the event count: the
// public headers compile with the compiler's default flags and the static library links with
// what the package finds. Usage: evlib_consumer FILE (replaced if it exists).
#include <evlib/evlib.hpp>

#include <cstdint>
#include <cstdio>
#include <span>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s FILE\n", argv[0]);
    return 2;
  }
  constexpr std::size_t kEvents = 25'000;
  const evlib::SceneOptions scene;  // 1280 x 720
  evlib::SceneGenerator generator(scene);
  evlib::EventBatch events = evlib::EventBatch::with_capacity(kEvents);
  evlib::TriggerBatch triggers;
  generator.generate(events, triggers, kEvents);

  evlib::Writer writer = evlib::Writer::create(argv[1], {.format = "evt3", .width = scene.width, .height = scene.height, .overwrite = true});
  writer.write(events, triggers);
  writer.close();

  evlib::Reader reader = evlib::Reader::open(argv[1]);
  std::size_t read_back = 0;
  while (auto chunk = reader.next()) {
    const std::span<const std::int64_t> t = chunk->events.t();
    read_back += t.size();
  }
  std::printf("%s: %s, %zu events\n", argv[1], reader.metadata().format.c_str(), read_back);
  if (read_back != kEvents) {
    std::fprintf(stderr, "expected %zu events\n", kEvents);
    return 1;
  }
  return 0;
}
