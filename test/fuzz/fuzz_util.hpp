// Helpers shared by the libFuzzer targets: the invariant check that stops the fuzzer, and
// buffer helpers that keep AddressSanitizer able to see every overrun.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <span>
#include <vector>

namespace pollux::fuzz {

using Bytes = std::span<const std::uint8_t>;

// A broken invariant is a bug in a parser or an emitter: say which one, then trap so
// libFuzzer records the input as a crash (SIGILL) and prints the stack.
[[noreturn]] inline void invariant_failed(const char* what, const char* file, int line) noexcept {
    std::fprintf(stderr, "fuzz invariant failed: %s (%s:%d)\n", what, file, line);
    std::fflush(stderr);
    __builtin_trap();
}

#define FUZZ_REQUIRE(cond) \
    ((cond) ? static_cast<void>(0) : ::pollux::fuzz::invariant_failed(#cond, __FILE__, __LINE__))

// `inner` lies entirely inside `outer` (compared as addresses, which is well defined).
inline bool within(Bytes inner, Bytes outer) noexcept {
    const auto lo = reinterpret_cast<std::uintptr_t>(outer.data());
    const auto hi = lo + outer.size();
    const auto p = reinterpret_cast<std::uintptr_t>(inner.data());
    if (inner.empty()) return p >= lo && p <= hi;
    return p >= lo && p + inner.size() <= hi;
}

// `inner` is exactly `outer[offset .. offset + size)`.
inline bool is_subspan(Bytes inner, Bytes outer, std::size_t offset, std::size_t size) noexcept {
    return offset <= outer.size() && size <= outer.size() - offset &&
           inner.data() == outer.data() + offset && inner.size() == size;
}

inline bool same_bytes(Bytes a, Bytes b) noexcept {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}

// A heap buffer of exactly `n` bytes, pre-filled with 0xa5 (as the golden-byte unit tests
// do) so that a byte an emitter forgets to write shows up, and sized exactly so that ASan
// reports a write past buffer_len().
inline std::vector<std::uint8_t> out_buffer(std::size_t n) { return std::vector<std::uint8_t>(n, 0xa5); }

}  // namespace pollux::fuzz
