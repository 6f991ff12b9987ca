#include "evlib/digest.hpp"

#include <openssl/evp.h>

#include <cstring>
#include <vector>

#include "evlib/error.hpp"

namespace evlib {

struct EventDigest::Impl {
  EVP_MD_CTX* ctx = nullptr;
  std::vector<unsigned char> rows;
  bool finished = false;
  ~Impl() { EVP_MD_CTX_free(ctx); }
};

EventDigest::EventDigest() : impl_(std::make_unique<Impl>()) {
  impl_->ctx = EVP_MD_CTX_new();
  if (impl_->ctx == nullptr || EVP_DigestInit_ex(impl_->ctx, EVP_sha256(), nullptr) != 1) {
    throw Error("cannot initialise SHA-256");
  }
  impl_->rows.resize(13 * 8192);
}
EventDigest::~EventDigest() = default;
EventDigest::EventDigest(EventDigest&&) noexcept = default;
EventDigest& EventDigest::operator=(EventDigest&&) noexcept = default;

void EventDigest::update(EventView events) {
  if (impl_->finished) throw InvalidArgument("EventDigest::update after finish");
  const auto t = events.t();
  const auto x = events.x();
  const auto y = events.y();
  const auto p = events.p();
  unsigned char* rows = impl_->rows.data();
  const std::size_t block = impl_->rows.size() / 13;
  for (std::size_t start = 0; start < events.size(); start += block) {
    const std::size_t n = std::min(block, events.size() - start);
    for (std::size_t i = 0; i < n; ++i) {
      unsigned char* r = rows + 13 * i;
      std::memcpy(r, &t[start + i], 8);  // little-endian host
      std::memcpy(r + 8, &x[start + i], 2);
      std::memcpy(r + 10, &y[start + i], 2);
      r[12] = p[start + i];
    }
    EVP_DigestUpdate(impl_->ctx, rows, 13 * n);
  }
}

std::string EventDigest::finish() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(impl_->ctx, md, &len);
  impl_->finished = true;
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out += hex[md[i] >> 4];
    out += hex[md[i] & 15];
  }
  return out;
}

std::string digest(EventView events) {
  EventDigest d;
  d.update(events);
  return d.finish();
}

}  // namespace evlib
