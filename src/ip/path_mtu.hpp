// The path MTU an ICMP "fragmentation needed and DF set" (type 3 code 4) announces
// (RFC 1191 §4), made safe to use.
//
// - The floor is Linux's net.ipv4.route.min_pmtu, 552, not RFC 1191's 68: a forged ICMP
//   message claiming a tiny MTU would otherwise make a connection send 28-byte segments,
//   multiplying the packets (and per-packet work) of a transfer by 50 (the reasoning
//   behind Linux's min_pmtu and tcp_min_snd_mss, CVE-2019-11479). A path narrower than
//   552 bytes then simply drops our DF segments, as on Linux.
// - Routers older than RFC 1191 send a next-hop MTU of 0. Linux (since 3.6 dropped
//   guess_mtu) then falls back to min_pmtu; pollux follows RFC 1191 §5 instead and takes
//   the largest plateau of its table below the quoted datagram's total length, which
//   finds a 1492-byte PPPoE hop from a 1500-byte datagram in one step.
#pragma once

#include <array>
#include <cstdint>

namespace pollux::ip {

inline constexpr std::uint16_t min_path_mtu = 552;  // Linux ip_rt_min_pmtu (512 + 20 + 20)

// RFC 1191 §7, table 7-1: the MTU plateaus.
inline constexpr std::array<std::uint16_t, 11> mtu_plateaus = {65535, 32000, 17914, 8166, 4352, 2002,
                                                               1492,  1006,  508,   296,  68};

// RFC 1191 §5: the largest plateau less than the datagram that did not fit; 68 at least.
constexpr std::uint16_t plateau_below(std::uint32_t datagram_len) noexcept {
    for (const std::uint16_t p : mtu_plateaus) {
        if (p < datagram_len) return p;
    }
    return mtu_plateaus.back();
}

struct PathMtu {
    std::uint16_t mtu = 0;
    bool clamped = false;  // the message asked for less than min_path_mtu
};

// `next_hop_mtu` as the message carries it; `quoted_len` the total length field of the
// quoted IPv4 header (the datagram that was too big).
constexpr PathMtu path_mtu_from_frag_needed(std::uint16_t next_hop_mtu, std::uint32_t quoted_len) noexcept {
    const std::uint16_t announced = next_hop_mtu != 0 ? next_hop_mtu : plateau_below(quoted_len);
    if (announced < min_path_mtu) return {min_path_mtu, true};
    return {announced, false};
}

}  // namespace pollux::ip
