#pragma once
// A bounds-checked reader for the few FlatBuffers tables AEDAT 4.0 uses (docs/formats.md 11.3),
// written from the FlatBuffers binary layout rather than with the library: every offset read
// from the buffer is checked against its size before use, so malformed input gives `false`,
// never a read outside the buffer. Positions are byte offsets from the start of the FlatBuffer
// (after its 4-byte size prefix); loads use memcpy, so the buffer need not be aligned.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

namespace evlib::detail::fb {

inline std::uint16_t u16(const std::uint8_t* p) noexcept {
  std::uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}
inline std::uint32_t u32(const std::uint8_t* p) noexcept {
  std::uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

class Table {
 public:
  Table() = default;

  // The table at pos of buf and its vtable; false when either does not fit in buf.
  static bool at(std::span<const std::uint8_t> buf, std::size_t pos, Table& out) {
    if (pos > buf.size() || buf.size() - pos < 4) return false;
    const auto soff = static_cast<std::int32_t>(u32(buf.data() + pos));
    const std::int64_t vt = static_cast<std::int64_t>(pos) - soff;  // a vtable may lie before or after
    if (vt < 0 || static_cast<std::uint64_t>(vt) + 4 > buf.size()) return false;
    const std::uint16_t vt_size = u16(buf.data() + vt);
    if (vt_size < 4 || static_cast<std::uint64_t>(vt) + vt_size > buf.size()) return false;
    out.buf_ = buf;
    out.pos_ = pos;
    out.vt_ = static_cast<std::size_t>(vt);
    out.vt_size_ = vt_size;
    return true;
  }

  // The root table of a FlatBuffer whose file identifier is ident (4 characters, or nullptr to
  // accept any).
  static bool root(std::span<const std::uint8_t> buf, const char* ident, Table& out) {
    if (buf.size() < 8) return false;
    if (ident != nullptr && std::memcmp(buf.data() + 4, ident, 4) != 0) return false;
    return at(buf, u32(buf.data()), out);
  }

  // Position of field id holding `bytes` inline bytes; 0 when the field is absent (the default
  // applies); false when it lies outside the buffer.
  bool field(unsigned id, std::size_t bytes, std::size_t& where) const {
    where = 0;
    const std::size_t slot = 4 + 2 * std::size_t{id};
    if (slot + 2 > vt_size_) return true;
    const std::uint16_t off = u16(buf_.data() + vt_ + slot);
    if (off == 0) return true;
    if (pos_ + off > buf_.size() || buf_.size() - (pos_ + off) < bytes) return false;
    where = pos_ + off;
    return true;
  }

  template <class T>
  bool scalar(unsigned id, T fallback, T& out) const {
    std::size_t where;
    if (!field(id, sizeof(T), where)) return false;
    out = fallback;
    if (where != 0) std::memcpy(&out, buf_.data() + where, sizeof(T));
    return true;
  }

  // Follows the uint32 offset stored in field id (relative to the field's own position).
  // found = false when the field is absent.
  bool reference(unsigned id, std::size_t& target, bool& found) const {
    std::size_t where;
    found = false;
    if (!field(id, 4, where)) return false;
    if (where == 0) return true;
    const std::uint64_t t = std::uint64_t{where} + u32(buf_.data() + where);
    if (t > buf_.size() || buf_.size() - t < 4) return false;
    target = static_cast<std::size_t>(t);
    found = true;
    return true;
  }

  // A vector in field id: first element position and element count. An absent field is an
  // empty vector.
  bool vector(unsigned id, std::size_t element_bytes, std::size_t& first, std::size_t& count) const {
    std::size_t target = 0;
    bool found = false;
    first = 0;
    count = 0;
    if (!reference(id, target, found)) return false;
    if (!found) return true;
    const std::uint32_t n = u32(buf_.data() + target);
    first = target + 4;
    if (element_bytes != 0 && n > (buf_.size() - first) / element_bytes) return false;
    count = n;
    return true;
  }

  bool string(unsigned id, std::string_view& out) const {
    std::size_t first, count;
    if (!vector(id, 1, first, count)) return false;
    out = std::string_view(reinterpret_cast<const char*>(buf_.data() + first), count);
    return true;
  }

  // Element index of a vector of tables (uint32 offsets relative to each slot) starting at first.
  bool table_element(std::size_t first, std::size_t index, Table& out) const {
    const std::size_t slot = first + 4 * index;
    if (slot > buf_.size() || buf_.size() - slot < 4) return false;
    const std::uint64_t t = std::uint64_t{slot} + u32(buf_.data() + slot);
    if (t >= buf_.size()) return false;
    return at(buf_, static_cast<std::size_t>(t), out);
  }

  std::span<const std::uint8_t> buffer() const noexcept { return buf_; }

 private:
  std::span<const std::uint8_t> buf_;
  std::size_t pos_ = 0;
  std::size_t vt_ = 0;
  std::uint16_t vt_size_ = 0;
};

// The FlatBuffer inside a size-prefixed buffer (uint32 length, then the bytes); false when the
// prefix claims more bytes than there are.
inline bool size_prefixed(std::span<const std::uint8_t> bytes, std::span<const std::uint8_t>& out) {
  if (bytes.size() < 4) return false;
  const std::uint32_t n = u32(bytes.data());
  if (n > bytes.size() - 4) return false;
  out = bytes.subspan(4, n);
  return true;
}

}  // namespace evlib::detail::fb
