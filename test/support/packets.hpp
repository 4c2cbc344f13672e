// Test support: byte patterns and PacketBufs built from and read back into byte vectors,
// shared by every test that handles packets (buf, ip, iface, runtime).
#pragma once

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include <rte_mempool.h>

#include "buf/packet_buf.hpp"
#include "support/eal.hpp"

namespace pollux::test {

using Bytes = std::vector<std::uint8_t>;

// Mbufs of the shared test pool in use now; tests compare it before and after (no leaks).
inline unsigned pool_in_use() { return rte_mempool_in_use_count(mbuf_pool()); }

// `n` pseudo-random bytes, the same for the same seed.
inline Bytes pattern(std::size_t n, std::uint32_t seed) {
    std::mt19937 rng(seed);
    Bytes b(n);
    for (auto& x : b) x = static_cast<std::uint8_t>(rng());
    return b;
}

// A packet holding `bytes`, in one segment when they fit, else chained by append_copy.
inline buf::PacketBuf packet(std::span<const std::uint8_t> bytes) {
    buf::PacketBuf p = buf::PacketBuf::alloc(mbuf_pool());
    REQUIRE(p);
    REQUIRE(p.append_copy(bytes, mbuf_pool()));
    return p;
}

// A packet holding `bytes` cut into segments of the given lengths (the last takes the rest).
inline buf::PacketBuf chained(std::span<const std::uint8_t> bytes, const std::vector<std::size_t>& cuts) {
    buf::PacketBuf head;
    std::size_t at = 0;
    for (std::size_t i = 0; i <= cuts.size() && at < bytes.size(); ++i) {
        const std::size_t n = i < cuts.size() ? std::min(cuts[i], bytes.size() - at) : bytes.size() - at;
        buf::PacketBuf seg = buf::PacketBuf::alloc(mbuf_pool());
        REQUIRE(seg);
        std::uint8_t* p = seg.append(static_cast<std::uint16_t>(n));
        REQUIRE(p != nullptr);
        std::copy_n(bytes.begin() + static_cast<std::ptrdiff_t>(at), n, p);
        at += n;
        if (!head) {
            head = std::move(seg);
        } else {
            REQUIRE(head.chain(std::move(seg)));
        }
    }
    REQUIRE(at == bytes.size());
    return head;
}

// Every byte of the chain, in order.
inline Bytes contents(const buf::PacketBuf& p) {
    Bytes out;
    for (auto seg : p.segments()) out.insert(out.end(), seg.begin(), seg.end());
    return out;
}

}  // namespace pollux::test
