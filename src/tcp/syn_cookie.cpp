#include "tcp/syn_cookie.hpp"

#include <algorithm>

#include "socket/port_manager.hpp"

namespace pollux::tcp {

namespace {
constexpr std::uint32_t kCountShift = 24;  // Linux COOKIEBITS
constexpr std::uint32_t kLowMask = (1u << kCountShift) - 1;
constexpr std::uint32_t kTsOptionBits = 6;  // 4 for the window scale, SACK, ECN
constexpr std::uint32_t kTsOptionMask = (1u << kTsOptionBits) - 1;
constexpr std::uint32_t kTsNoWscale = 0xf;
constexpr std::uint32_t kTsSackBit = 1u << 4;
constexpr std::uint32_t kTsEcnBit = 1u << 5;
constexpr std::uint8_t kMaxWscale = 14;  // RFC 7323 §2.3
// H1's last word: count 0xffffffff, never a minute H2 is asked for in practice (it would
// take 8,000 years of uptime), so the two hashes are of different messages.
constexpr std::uint32_t kH1 = 0xffffffffu;
}  // namespace

std::uint32_t SynCookies::minute(time::Instant now) noexcept {
    const std::int64_t ns = now.ns();
    constexpr std::int64_t per_minute = 60'000'000'000;
    std::int64_t m = ns / per_minute;
    if (ns % per_minute < 0) --m;  // floor, whatever the clock's epoch
    return static_cast<std::uint32_t>(static_cast<std::uint64_t>(m));
}

std::uint32_t SynCookies::hash(wire::Ipv4Address local, wire::Port local_port, wire::Ipv4Address remote,
                               wire::Port remote_port, wire::SeqNum peer_isn, std::uint32_t count) const noexcept {
    const std::array<std::uint64_t, 3> words{
        (std::uint64_t{local.value()} << 32) | remote.value(),
        (std::uint64_t{local_port.value()} << 16) | remote_port.value(),
        (std::uint64_t{peer_isn.raw()} << 32) | count,
    };
    return static_cast<std::uint32_t>(socket::detail::siphash24(k0_, k1_, words));
}

wire::SeqNum SynCookies::make(wire::Ipv4Address local, wire::Port local_port, wire::Ipv4Address remote,
                              wire::Port remote_port, wire::SeqNum peer_isn, std::uint16_t peer_mss,
                              time::Instant now) const noexcept {
    // The largest table entry the peer can take (the first one when it is below all).
    std::uint32_t index = 0;
    for (std::uint32_t i = 0; i < kMssTable.size(); ++i) {
        if (kMssTable[i] <= peer_mss) index = i;
    }
    const std::uint32_t count = minute(now);
    const std::uint32_t low = (hash(local, local_port, remote, remote_port, peer_isn, count) + index) & kLowMask;
    const std::uint32_t value =
        hash(local, local_port, remote, remote_port, wire::SeqNum(0), kH1) + peer_isn.raw() + (count << kCountShift) + low;
    return wire::SeqNum(value);
}

std::optional<SynCookies::Decoded> SynCookies::check(wire::Ipv4Address local, wire::Port local_port,
                                                     wire::Ipv4Address remote, wire::Port remote_port,
                                                     wire::SeqNum peer_isn, wire::SeqNum cookie,
                                                     time::Instant now) const noexcept {
    const std::uint32_t rest = cookie.raw() - hash(local, local_port, remote, remote_port, wire::SeqNum(0), kH1) - peer_isn.raw();
    // The low part is below 2^24, so the top 8 bits are the minute it was made in, mod 256.
    const std::uint32_t made = rest >> kCountShift;
    const std::uint32_t age = (minute(now) - made) & 0xff;
    if (age >= kMaxAgeMinutes) return std::nullopt;
    const std::uint32_t count = minute(now) - age;  // the full counter of that minute
    const std::uint32_t index = (rest - hash(local, local_port, remote, remote_port, peer_isn, count)) & kLowMask;
    if (index >= kMssTable.size()) return std::nullopt;
    return Decoded{kMssTable[index]};
}

std::uint32_t SynCookies::encode_timestamp(std::uint32_t ts_now, const TimestampOptions& o) noexcept {
    // RFC 7323 §2.3: a shift above 14 is used as 14, so 14 is all the cookie needs to keep.
    std::uint32_t bits = o.window_scale ? std::min<std::uint32_t>(*o.window_scale, kMaxWscale) : kTsNoWscale;
    if (o.sack_permitted) bits |= kTsSackBit;
    std::uint32_t ts = (ts_now & ~kTsOptionMask) | bits;
    // Modulo 2^32: "ahead" is the signed difference, as RFC 7323 compares timestamps.
    if (static_cast<std::int32_t>(ts - ts_now) > 0) ts -= kTsOptionMask + 1;
    return ts;
}

std::optional<SynCookies::TimestampOptions> SynCookies::decode_timestamp(std::uint32_t ts_echo) noexcept {
    const std::uint32_t bits = ts_echo & kTsOptionMask;
    if ((bits & kTsEcnBit) != 0) return std::nullopt;
    TimestampOptions o;
    const std::uint32_t wscale = bits & 0xf;
    if (wscale != kTsNoWscale) o.window_scale = static_cast<std::uint8_t>(wscale);  // 0..14
    o.sack_permitted = (bits & kTsSackBit) != 0;
    return o;
}

}  // namespace pollux::tcp
