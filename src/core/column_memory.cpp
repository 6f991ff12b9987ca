#include "evlib/column_memory.hpp"

#include <sys/mman.h>

#include <cstdint>
#include <memory>
#include <new>
#include <utility>

namespace evlib {

namespace {
constexpr std::size_t kHugePage = std::size_t{2} << 20;
constexpr std::size_t kPage = std::size_t{4} << 10;
// Below this size a plain heap block is cheaper than a mapping.
constexpr std::size_t kMapThreshold = std::size_t{256} << 10;
}  // namespace

ColumnMemory::ColumnMemory(std::size_t bytes) : bytes_(bytes) {
  if (bytes == 0) return;
  if (bytes < kMapThreshold) {
    data_ = ::operator new(bytes, std::align_val_t{64});
    return;
  }
  // Over-map by one huge page so the block can start on a 2 MiB boundary.
  const std::size_t body = (bytes + kPage - 1) / kPage * kPage;
  const std::size_t want = body + kHugePage;
  void* base = ::mmap(nullptr, want, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (base == MAP_FAILED) throw std::bad_alloc();
  auto addr = reinterpret_cast<std::uintptr_t>(base);
  const std::uintptr_t aligned = (addr + kHugePage - 1) & ~(kHugePage - 1);
  const std::size_t head = aligned - addr;
  if (head != 0) ::munmap(base, head);
  const std::size_t tail = want - head - body;
  if (tail != 0) ::munmap(reinterpret_cast<void*>(aligned + body), tail);
  data_ = reinterpret_cast<void*>(aligned);
  mapped_bytes_ = body;
  // Huge pages only where the block fills them: a huge page is resident whole once touched, so
  // a 300 KiB chunk column on one would cost 2 MiB (streaming memory grew with the thread count).
  if (const std::size_t whole = bytes / kHugePage * kHugePage; whole != 0) ::madvise(data_, whole, MADV_HUGEPAGE);
}

ColumnMemory::~ColumnMemory() { release(); }

ColumnMemory::ColumnMemory(ColumnMemory&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      bytes_(std::exchange(other.bytes_, 0)),
      mapped_bytes_(std::exchange(other.mapped_bytes_, 0)) {}

ColumnMemory& ColumnMemory::operator=(ColumnMemory&& other) noexcept {
  if (this != &other) {
    release();
    data_ = std::exchange(other.data_, nullptr);
    bytes_ = std::exchange(other.bytes_, 0);
    mapped_bytes_ = std::exchange(other.mapped_bytes_, 0);
  }
  return *this;
}

void ColumnMemory::release() noexcept {
  if (data_ == nullptr) return;
  if (mapped_bytes_ != 0) {
    ::munmap(data_, mapped_bytes_);
  } else {
    ::operator delete(data_, std::align_val_t{64});
  }
  data_ = nullptr;
}

ColumnMemory SpareColumnMemory::take(std::size_t bytes, bool* reused) {
  std::unique_ptr<ColumnMemory> spare(spare_.exchange(nullptr));
  const bool hit = spare && spare->bytes() == bytes;
  if (reused != nullptr) *reused = hit;
  if (hit) return std::move(*spare);
  // Another size: left for a later request unless a block came back meanwhile.
  ColumnMemory* none = nullptr;
  if (spare && spare_.compare_exchange_strong(none, spare.get())) spare.release();
  return ColumnMemory(bytes);
}

void SpareColumnMemory::keep(ColumnMemory&& memory) noexcept {
  if (memory.data() == nullptr) return;  // an empty block would only displace a kept one
  auto* kept = new (std::nothrow) ColumnMemory(std::move(memory));
  delete spare_.exchange(kept);  // without room for the holder, memory was freed instead
}

}  // namespace evlib
