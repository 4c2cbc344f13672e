#include "time/clock.hpp"

#include <cassert>

#include <rte_cycles.h>

namespace pollux::time {

// rte_get_tsc_hz() is measured by rte_eal_init(); before it, it is 0.
TscClock::TscClock() noexcept : start_cycles_(rte_get_tsc_cycles()), hz_(rte_get_tsc_hz()) {
    assert(hz_ != 0 && "TscClock needs the EAL initialised");
}

Instant TscClock::now() const noexcept {
    constexpr std::uint64_t ns_per_s = 1'000'000'000;
    const std::uint64_t cycles = rte_get_tsc_cycles() - start_cycles_;
    // cycles * 1e9 would overflow 64 bits after about 6 s at 3 GHz. Whole seconds and the
    // remainder are converted apart: remainder < hz_, so remainder * 1e9 fits for any TSC
    // slower than 18 GHz, and whole seconds * 1e9 fits for 292 years.
    const std::uint64_t seconds = cycles / hz_;
    const std::uint64_t remainder = cycles % hz_;
    const std::uint64_t ns = seconds * ns_per_s + remainder * ns_per_s / hz_;
    return Instant::from_ns(static_cast<std::int64_t>(ns));
}

}  // namespace pollux::time
