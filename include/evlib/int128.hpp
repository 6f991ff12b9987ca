#pragma once
// 128-bit integers, for sums and differences of int64 times that may pass int64 (a GCC and Clang
// extension; __extension__ keeps -Wpedantic quiet about it).
namespace evlib {
__extension__ typedef __int128 int128;
}  // namespace evlib
