// ImpairmentConfig: what an ImpairedPort does to the frames sent through it, and its
// command-line form.
//
// The form is a comma-separated list of key=value items, every key optional and given at
// most once:
//
//     loss=0.02,reorder=0.05,duplicate=0.01,corrupt=0.001,delay=5ms,jitter=1ms,rate=50mbit,seed=7
//
// - loss, duplicate, reorder, corrupt: probabilities per frame, a decimal in [0, 1] or a
//   percentage ("2%", as tc netem writes them).
// - delay, jitter: a decimal with a unit ns, us, ms or s ("1.5ms"); a bare "0" is zero.
//   A value finer than a nanosecond is refused rather than rounded.
// - rate: bits per second with a unit bit, kbit, mbit or gbit, in SI multiples of 1000 as
//   tc writes them ("50mbit" is 50,000,000 bit/s; units are case-insensitive); a bare "0"
//   means unlimited. tc's "bps" (bytes per second) is refused, not guessed at.
// - seed: the PRNG seed, an unsigned 64-bit decimal; the same seed replays the same run.
//
// Errors are one line naming the item, e.g. "loss=1.5: probability must be in [0, 1]".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "time/instant.hpp"

namespace pollux::phy {

struct ImpairmentConfig {
    double loss = 0.0;       // frame freed
    double duplicate = 0.0;  // frame sent twice (independent copies)
    double reorder = 0.0;    // frame held back until the next one has gone
    double corrupt = 0.0;    // one bit of the frame flipped
    time::Duration delay = time::Duration::zero();
    time::Duration jitter = time::Duration::zero();  // delay varies uniformly by +-jitter
    std::uint64_t rate_bps = 0;                      // 0 = unlimited
    std::uint64_t seed = 0;

    // Whether a port with this config does anything but pass frames through.
    bool impairs() const noexcept;
    bool operator==(const ImpairmentConfig&) const noexcept = default;
};

// The outcome of parse_impairment: a config, or the reason there is none.
struct ImpairmentParse {
    std::optional<ImpairmentConfig> config;
    std::string error;  // one line, empty on success

    explicit operator bool() const noexcept { return config.has_value(); }
};

// Parses the command-line form above. The empty string is the default config.
ImpairmentParse parse_impairment(std::string_view text);

// The canonical form: every key, in a fixed order, each value in the exact unit that
// parse_impairment reads back to the same config.
std::string to_string(const ImpairmentConfig& config);

}  // namespace pollux::phy
