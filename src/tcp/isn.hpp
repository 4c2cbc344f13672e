// IsnGenerator: initial sequence numbers for active and passive opens, RFC 6528 §3:
//
//   ISN = M + F(localip, localport, remoteip, remoteport, secretkey)
//
// M is a timer that ticks every 4 microseconds (RFC 9293 §3.4.1's clock), here derived
// from the `now` the caller hands in, so the generator never reads a clock: M is
// floor(now / 4 us) truncated to 32 bits, wrapping every 2^32 * 4 us (about 4.77 hours).
// F is SipHash-2-4 (the PRF Linux's secure_tcp_seq() also uses) over the 4-tuple, keyed
// with a 128-bit secret, low 32 bits. Because F is constant per 4-tuple, the ISNs of
// successive incarnations of one connection still advance with M, which keeps the
// protection against old duplicates; across different 4-tuples they are unrelated, so
// an off-path attacker cannot learn one connection's ISN by opening another (the
// attack of RFC 6528 §1).
//
// The secret is chosen at random by the runtime and must live as long as the stack:
// rekeying would make a 4-tuple's ISNs jump, maybe backwards, defeating the
// monotonic-ISN property that TIME_WAIT reuse relies on. Differing
// from Linux: Linux's M ticks every 64 ns, pollux follows RFC 6528's 4 us.
#pragma once

#include <cstdint>

#include "time/instant.hpp"
#include "wire/address.hpp"
#include "wire/seq_num.hpp"

namespace pollux::tcp {

class IsnGenerator {
public:
    // k0, k1: the 128-bit secret key (RFC 6528's secretkey) as two 64-bit words.
    constexpr IsnGenerator(std::uint64_t k0, std::uint64_t k1) noexcept : k0_(k0), k1_(k1) {}

    wire::SeqNum generate(wire::Ipv4Address local, wire::Port local_port, wire::Ipv4Address remote,
                          wire::Port remote_port, time::Instant now) const noexcept;

    // The two halves of the formula, exposed for tests.
    static std::uint32_t timer_m(time::Instant now) noexcept;
    std::uint32_t hash_f(wire::Ipv4Address local, wire::Port local_port, wire::Ipv4Address remote,
                         wire::Port remote_port) const noexcept;

private:
    std::uint64_t k0_;
    std::uint64_t k1_;
};

}  // namespace pollux::tcp
