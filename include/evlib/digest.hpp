#pragma once
// SHA-256 of decoded events, row-packed little-endian in file order, 13 bytes an event:
// int64 t, uint16 x, uint16 y, uint8 p. Two decoders agree on a file iff their digests agree.
#include <memory>
#include <string>

#include "evlib/event_batch.hpp"

namespace evlib {

class EventDigest {
 public:
  EventDigest();
  ~EventDigest();
  EventDigest(EventDigest&&) noexcept;
  EventDigest& operator=(EventDigest&&) noexcept;

  void update(EventView events);
  // Lower-case hex of the digest; the object cannot be updated afterwards.
  std::string finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Digest of one batch.
std::string digest(EventView events);

}  // namespace evlib
