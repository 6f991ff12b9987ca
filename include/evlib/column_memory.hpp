#pragma once
// Raw storage for event columns. Large blocks come from an anonymous mmap aligned to 2 MiB with
// MADV_HUGEPAGE: first-touch page faults on 4 KiB pages cost more than decoding itself (see
// HACKING.md, "Column memory"). The mapping reserves address space only; untouched pages cost
// nothing, so a block may be sized from a generous upper bound and never grown by copying.
#include <atomic>
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
  // Whether the block is an anonymous mapping: a fresh one reads as zeros (pages the OS zeroes).
  bool mapped() const noexcept { return mapped_bytes_ != 0; }

 private:
  void release() noexcept;
  void* data_ = nullptr;
  std::size_t bytes_ = 0;
  std::size_t mapped_bytes_ = 0;  // 0 when the block came from operator new
};

// The last released block, kept for the next request of its size: an output or a map made
// again and again (per slice, per file, per call) then reuses pages already faulted in, where a
// fresh large block (a glibc heap block of that size is a fresh mapping, or fresh pages at the
// heap's top) costs a page fault per 4 KiB page. One atomic pointer, no lock: a child forked
// while another thread hands a block over (DataLoader workers) finds no lock held. Meant as a
// static that is never destroyed (holders may die during static destruction): the kept block is
// the process's until it exits.
class SpareColumnMemory {
 public:
  constexpr SpareColumnMemory() noexcept = default;
  // A block of `bytes` bytes: the kept one if it has that size (contents undefined; *reused set
  // to true), else a fresh one (the kept block of another size stays for a later request).
  ColumnMemory take(std::size_t bytes, bool* reused = nullptr);
  // Keeps `memory` as the spare block; the previous spare is freed.
  void keep(ColumnMemory&& memory) noexcept;

 private:
  std::atomic<ColumnMemory*> spare_{nullptr};
};

}  // namespace evlib
