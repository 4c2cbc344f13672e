// Test frames for the phy tests: an mbuf whose payload starts with a sequence number (host
// order: these bytes never leave the process) followed by a pattern derived from it, so a
// test can check order, loss, duplication and corruption of what crossed a port.
#pragma once

#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <numeric>
#include <vector>

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "phy/port.hpp"
#include "support/eal.hpp"
#include "support/packets.hpp"

namespace pollux::phy::test_frames {

using pollux::test::pool_in_use;

// The sequence numbers first, first+1, ..., n of them: what an in-order delivery carries.
inline std::vector<std::uint32_t> iota_seqs(std::uint32_t first, std::size_t n) {
    std::vector<std::uint32_t> v(n);
    std::iota(v.begin(), v.end(), first);
    return v;
}

inline std::uint8_t pattern_byte(std::uint32_t seq, std::size_t i) {
    return static_cast<std::uint8_t>((seq * 31u + i * 7u) & 0xffu);
}

// A frame of `len` (>= 4) bytes carrying `seq`.
inline rte_mbuf* make_frame(std::uint32_t seq, std::uint16_t len = 64) {
    rte_mbuf* m = rte_pktmbuf_alloc(pollux::test::mbuf_pool());
    REQUIRE(m != nullptr);
    auto* p = reinterpret_cast<std::uint8_t*>(rte_pktmbuf_append(m, len));
    REQUIRE(p != nullptr);
    for (std::size_t i = 0; i < len; ++i) p[i] = pattern_byte(seq, i);
    std::memcpy(p, &seq, sizeof seq);
    return m;
}

inline std::vector<std::uint8_t> bytes_of(const rte_mbuf* m) {
    std::vector<std::uint8_t> out;
    for (const rte_mbuf* s = m; s != nullptr; s = s->next) {
        const auto* p = rte_pktmbuf_mtod(s, const std::uint8_t*);
        out.insert(out.end(), p, p + s->data_len);
    }
    return out;
}

inline std::uint32_t seq_of(const rte_mbuf* m) {
    std::uint32_t seq = 0;
    std::memcpy(&seq, rte_pktmbuf_mtod(m, const std::uint8_t*), sizeof seq);
    return seq;
}

// The frame exactly as make_frame(seq, len) built it.
inline std::vector<std::uint8_t> expected_bytes(std::uint32_t seq, std::uint16_t len = 64) {
    std::vector<std::uint8_t> out(len);
    for (std::size_t i = 0; i < len; ++i) out[i] = pattern_byte(seq, i);
    std::memcpy(out.data(), &seq, sizeof seq);
    return out;
}

// Sends frames first..first+count-1 on queue 0 in one burst (count <= 64) and returns how
// many the port took; the rest are freed here.
inline std::uint16_t send(Port& port, std::uint32_t first, std::uint16_t count, std::uint16_t len = 64) {
    rte_mbuf* burst[64];
    REQUIRE(count <= 64);
    for (std::uint16_t i = 0; i < count; ++i) burst[i] = make_frame(first + i, len);
    const std::uint16_t taken = port.tx_burst(0, burst, count);
    for (std::uint16_t i = taken; i < count; ++i) rte_pktmbuf_free(burst[i]);
    return taken;
}

// Receives everything queue 0 has now, frees it, and returns the sequence numbers in order.
inline std::vector<std::uint32_t> drain(Port& port) {
    std::vector<std::uint32_t> seqs;
    rte_mbuf* burst[32];
    std::uint16_t got = 0;
    while ((got = port.rx_burst(0, burst, 32)) > 0) {
        for (std::uint16_t i = 0; i < got; ++i) {
            seqs.push_back(seq_of(burst[i]));
            rte_pktmbuf_free(burst[i]);
        }
    }
    return seqs;
}

}  // namespace pollux::phy::test_frames
