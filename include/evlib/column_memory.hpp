#pragma once
// Raw storage for event columns. Large blocks come from an anonymous mmap aligned to 2 MiB with
// MADV_HUGEPAGE: first-touch page faults on 4 KiB pages cost more than decoding itself (see
// HACKING.md, "Column memory"). The mapping reserves address space only; untouched pages cost
// nothing, so a block may be sized from a generous upper bound and never grown by copying.
#include <cstddef>

namespace evlib {

class ColumnMemory {
 public:
  ColumnMemory() = default;
  explicit ColumnMemory(std::size_t bytes);
  ~ColumnMemory();
  ColumnMemory(ColumnMemory&& other) noexcept;
  ColumnMemory& operator=(ColumnMemory&& other) noexcept;
  ColumnMemory(const ColumnMemory&) = delete;
  ColumnMemory& operator=(const ColumnMemory&) = delete;

  void* data() const noexcept { return data_; }
  std::size_t bytes() const noexcept { return bytes_; }

 private:
  void release() noexcept;
  void* data_ = nullptr;
  std::size_t bytes_ = 0;
  std::size_t mapped_bytes_ = 0;  // 0 when the block came from operator new
};

}  // namespace evlib
