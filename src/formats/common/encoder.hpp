#pragma once
// The internal interface of a format writer: one virtual call per batch, bytes out through an
// AtomicFile. Each encoder checks that events fit its format and throws InvalidArgument with the
// event index otherwise; it never clamps silently.
#include <cstdint>
#include <cstring>
#include <memory>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "evlib/event_batch.hpp"
#include "evlib/writer.hpp"
#include "io/atomic_file.hpp"

namespace evlib::detail {

class EventEncoder {
 public:
  virtual ~EventEncoder() = default;
  virtual void begin(AtomicFile& out) = 0;
  virtual void encode(const EventBatch& events, const TriggerBatch& triggers, AtomicFile& out) = 0;
  virtual void end(AtomicFile& out) = 0;
};

// Each format's factory (`make_<name>_encoder(const WriteOptions&)`) is declared where it is
// registered, in src/io/registry.cpp.

// `% key value` lines of a RAW header for a file we write (docs/formats.md 15.1), ending in `% end`.
std::string raw_header(const std::string& evt_version, const std::string& format_name, const WriteOptions& options);

// Whether an extra header key is one the writer writes itself (geometry, format, the line ending
// the header): such keys are left out, as the HDF5 writers do, so that a header copied from
// another file cannot override the lines that say how to read this one.
inline bool writer_owns_key(std::string_view key, std::initializer_list<std::string_view> owned) {
  for (std::string_view k : owned)
    if (key == k) return true;
  return false;
}

// `% key value` lines of the extra header keys of a RAW or DAT file, except those the writer
// owns; spaces in a key become underscores (it would read back split at the first).
std::string percent_header_lines(const WriteOptions& options, std::initializer_list<std::string_view> owned);

// Walks events and triggers of one batch in time order (triggers after events of equal time).
template <class OnEvent, class OnTrigger>
void merge_by_time(const EventBatch& events, const TriggerBatch& triggers, OnEvent&& on_event, OnTrigger&& on_trigger) {
  const auto t = events.t();
  std::size_t j = 0;
  for (std::size_t i = 0; i < events.size(); ++i) {
    while (j < triggers.size() && triggers.t[j] < t[i]) on_trigger(j++);
    on_event(i);
  }
  while (j < triggers.size()) on_trigger(j++);
}

// Output buffering for encoders: words are staged here and flushed to the file in large blocks.
class WordBuffer {
 public:
  explicit WordBuffer(std::size_t bytes = std::size_t{1} << 20) : data_(bytes) {}
  template <class Word>
  void put(Word w) {
    if (used_ + sizeof(Word) > data_.size()) grow();
    std::memcpy(data_.data() + used_, &w, sizeof(Word));
    used_ += sizeof(Word);
  }
  void flush_to(AtomicFile& out) {
    out.write(data_.data(), used_);
    used_ = 0;
  }
  std::size_t size() const { return used_; }

 private:
  void grow() { data_.resize(data_.size() * 2); }
  std::vector<unsigned char> data_;
  std::size_t used_ = 0;
};

}  // namespace evlib::detail
