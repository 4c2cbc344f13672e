// SynCookies: the stateless SYN-ACK of RFC 4987 §3.6. When a listener's SYN queue is full,
// its SYN-ACK's sequence number (our ISN) is a keyed hash that encodes what the connection
// needs; the peer's ACK echoes it back (SEG.ACK - 1), and the connection is rebuilt from
// that ACK alone. Nothing is held between SYN and ACK, so a flood of spoofed SYNs costs no
// memory.
//
// The sequence number, as Linux builds it (secure_tcp_syn_cookie(), the construction of
// D. J. Bernstein's SYN cookies):
//
//   cookie = H1(4-tuple) + ISN_peer + (count << 24) + ((H2(4-tuple, ISN_peer, count) + mss_index) mod 2^24)
//
// count is a minute counter (the top 8 bits, so an old cookie is recognised as old);
// H1 and H2 are SipHash-2-4 with a secret key chosen at start (the PRF the ISNs use),
// H2 also over count, so a cookie of one minute says nothing about another. Differing
// from Linux, H2 covers the peer's ISN too: in Linux's form an ACK whose SEG.SEQ is off
// by one still decodes, to a neighbouring MSS index; here it fails like any other guess. The low 24
// bits carry the MSS as an index into a table of common MSS values (Linux's msstab for
// IPv4); a valid cookie decodes to an index below the table's size, which also makes a
// guessed ACK fail with probability 1 - 4/2^24 per try. A cookie is accepted in the
// minute it was made in and the next (an age below kMaxAgeMinutes, Linux
// MAX_SYNCOOKIE_AGE), so it lives between one and two minutes.
//
// The TCP options. Only 2 bits fit in the sequence number, so the window scale and
// SACK-permitted travel in the low 6 bits of our TSval, which the peer echoes in TSecr
// (Linux cookie_init_timestamp): bits 0-3 the peer's window scale (15: none), bit 4 SACK
// permitted, bit 5 ECN (never set: pollux does no ECN). Without timestamps these options
// cannot be recovered, so a cookie SYN-ACK offers neither (Linux clears them too): the
// connection then runs without window scaling and SACK, the price of RFC 4987's
// statelessness.
//
// Threads: const after construction; any thread.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include "time/instant.hpp"
#include "wire/address.hpp"
#include "wire/seq_num.hpp"

namespace pollux::tcp {

class SynCookies {
public:
    // IPv4 MSS values a cookie can carry (Linux msstab): the peer's MSS is rounded down to
    // one of them. 536 is the default without an MSS option (RFC 9293 §3.7.1), 1460 an
    // Ethernet path, 1440 and 1300 common tunnels.
    static constexpr std::array<std::uint16_t, 4> kMssTable{536, 1300, 1440, 1460};
    // A cookie is accepted while its age in whole minutes (now's minute less the one it was
    // made in) is below this: in its own minute and the next (Linux MAX_SYNCOOKIE_AGE).
    static constexpr std::uint32_t kMaxAgeMinutes = 2;

    // The options a cookie's timestamp carries.
    struct TimestampOptions {
        std::optional<std::uint8_t> window_scale;  // the peer's, if it offered one
        bool sack_permitted = false;
    };
    // What a valid cookie decodes to.
    struct Decoded {
        std::uint16_t mss = 536;  // the peer's MSS, rounded down to kMssTable
    };

    constexpr SynCookies(std::uint64_t k0, std::uint64_t k1) noexcept : k0_(k0), k1_(k1) {}

    // Our ISN for a SYN from `remote` to `local` carrying sequence number `peer_isn` and
    // MSS option `peer_mss` (536 when it had none).
    wire::SeqNum make(wire::Ipv4Address local, wire::Port local_port, wire::Ipv4Address remote,
                      wire::Port remote_port, wire::SeqNum peer_isn, std::uint16_t peer_mss,
                      time::Instant now) const noexcept;
    // Checks the cookie of an ACK: `cookie` is SEG.ACK - 1, `peer_isn` SEG.SEQ - 1. Empty
    // when it is not one this key made in the last kMaxAgeMinutes minutes.
    std::optional<Decoded> check(wire::Ipv4Address local, wire::Port local_port, wire::Ipv4Address remote,
                                 wire::Port remote_port, wire::SeqNum peer_isn, wire::SeqNum cookie,
                                 time::Instant now) const noexcept;

    // Our TSval for a cookie SYN-ACK: the timestamp clock `ts_now` with its low 6 bits
    // replaced by the options, and moved back 64 ticks if that put it ahead of the clock,
    // so that the connection's later TSvals never go backwards (RFC 7323 §5.4 monotonic).
    static std::uint32_t encode_timestamp(std::uint32_t ts_now, const TimestampOptions& o) noexcept;
    // The options from the TSecr of the completing ACK; empty when the bits are not ones
    // encode_timestamp() writes (the ECN bit).
    static std::optional<TimestampOptions> decode_timestamp(std::uint32_t ts_echo) noexcept;

    // The minute counter (exposed for tests).
    static std::uint32_t minute(time::Instant now) noexcept;

private:
    std::uint32_t hash(wire::Ipv4Address local, wire::Port local_port, wire::Ipv4Address remote,
                       wire::Port remote_port, wire::SeqNum peer_isn, std::uint32_t count) const noexcept;

    std::uint64_t k0_;
    std::uint64_t k1_;
};

}  // namespace pollux::tcp
