#pragma once
// Starting a decoder thread: out of threads (a process limit, or memory for their stacks),
// std::thread throws a std::system_error that names no operation; the decoders report an Error
// that says what could not start.
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "evlib/error.hpp"

namespace evlib::detail {

template <class Work>
void start_thread(std::vector<std::thread>& pool, Work&& work) {
  try {
    pool.emplace_back(std::forward<Work>(work));
  } catch (const std::system_error& e) {
    throw Error(std::string("cannot start a decoder thread: ") + e.what());
  }
}

}  // namespace evlib::detail
