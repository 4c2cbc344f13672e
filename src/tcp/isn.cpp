#include "tcp/isn.hpp"

#include <array>

#include "socket/port_manager.hpp"

namespace pollux::tcp {

std::uint32_t IsnGenerator::timer_m(time::Instant now) noexcept {
    constexpr std::int64_t tick_ns = 4'000;  // RFC 6528 §3: a 4-microsecond timer
    // Floor division, so that M advances by exactly one per tick even on a clock whose
    // epoch puts `now` below zero; then keep the low 32 bits (M wraps like the sequence
    // space itself).
    std::int64_t ticks = now.ns() / tick_ns;
    if (now.ns() % tick_ns < 0) --ticks;
    return static_cast<std::uint32_t>(static_cast<std::uint64_t>(ticks));
}

std::uint32_t IsnGenerator::hash_f(wire::Ipv4Address local, wire::Port local_port, wire::Ipv4Address remote,
                                   wire::Port remote_port) const noexcept {
    // The 4-tuple packed into two message words: addresses in the first, ports in the
    // second. Local and remote have fixed places, so the two directions of one
    // connection hash differently.
    const std::array<std::uint64_t, 2> words{
        (std::uint64_t{local.value()} << 32) | remote.value(),
        (std::uint64_t{local_port.value()} << 16) | remote_port.value(),
    };
    return static_cast<std::uint32_t>(socket::detail::siphash24(k0_, k1_, words));
}

wire::SeqNum IsnGenerator::generate(wire::Ipv4Address local, wire::Port local_port, wire::Ipv4Address remote,
                                    wire::Port remote_port, time::Instant now) const noexcept {
    // RFC 6528 §3: ISN = M + F(...), modulo 2^32.
    return wire::SeqNum(hash_f(local, local_port, remote, remote_port)) + timer_m(now);
}

}  // namespace pollux::tcp
