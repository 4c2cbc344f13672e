// Why a wire parser refused its input. Every malformed frame is dropped and counted by
// this reason (the data-path counters key on it), so the set is small and stable.
#pragma once

#include <cstdint>
#include <string_view>
#include <utility>

namespace pollux::wire {

enum class WireError : std::uint8_t {
    none = 0,
    truncated,     // the buffer is shorter than a length says it must be
    malformed,     // a field has a value the protocol forbids (IHL < 5, option length 1, ...)
    bad_checksum,  // the checksum does not verify
    unsupported,   // well-formed, but not something pollux handles (e.g. ARP for IPv6)
};

constexpr std::string_view to_string(WireError e) noexcept {
    switch (e) {
        case WireError::none: return "none";
        case WireError::truncated: return "truncated";
        case WireError::malformed: return "malformed";
        case WireError::bad_checksum: return "bad_checksum";
        case WireError::unsupported: return "unsupported";
    }
    return "unknown";
}

// The outcome of a parse: a host-order Repr, or the reason there is none.
template <typename T>
class Result {
public:
    constexpr Result(T value) noexcept : value_(std::move(value)) {}  // NOLINT: implicit by design
    constexpr Result(WireError error) noexcept : error_(error) {}     // NOLINT: implicit by design

    constexpr bool ok() const noexcept { return error_ == WireError::none; }
    constexpr explicit operator bool() const noexcept { return ok(); }
    constexpr WireError error() const noexcept { return error_; }
    constexpr const T& value() const noexcept { return value_; }
    constexpr const T& operator*() const noexcept { return value_; }
    constexpr const T* operator->() const noexcept { return &value_; }

private:
    T value_{};
    WireError error_ = WireError::none;
};

}  // namespace pollux::wire
