// PacketRef: a non-owning, read-only view of a packet (an rte_mbuf chain) held elsewhere.
//
// A datagram waiting in a socket's receive queue stays owned by the queue until the
// application takes it; recvmsg (and MSG_PEEK, which takes nothing) copies out of it
// through this view. The view never frees, never changes the chain, and is valid only as
// long as its owner keeps the packet (for a queued packet: until it is popped or the
// queue is cleared). Its readers mirror PacketBuf's, with the same semantics.
#pragma once

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include <rte_mbuf.h>

#include "buf/packet_buf.hpp"

namespace pollux::buf {

class PacketRef {
public:
    // `m` is the head of a chain and must not be null.
    explicit PacketRef(const rte_mbuf* m) noexcept : m_(m) { assert(m != nullptr); }
    // Views `p`'s chain; `p` must not be empty.
    explicit PacketRef(const PacketBuf& p) noexcept : PacketRef(p.get()) {}

    // The head mbuf: for code in src/buf/ and src/phy/ that needs the raw chain.
    const rte_mbuf* get() const noexcept { return m_; }

    // Total bytes in the chain.
    std::uint32_t length() const noexcept { return m_->pkt_len; }
    std::uint16_t segment_count() const noexcept { return m_->nb_segs; }

    // Copies `out.size()` bytes from `offset` into `out`, across segments. False when the
    // packet is shorter than offset + size (and `out` is then unspecified).
    bool copy_out(std::uint32_t offset, std::span<std::uint8_t> out) const noexcept {
        if (out.empty()) return offset <= m_->pkt_len;
        const void* p = rte_pktmbuf_read(m_, offset, static_cast<std::uint32_t>(out.size()), out.data());
        if (p == nullptr) return false;
        // rte_pktmbuf_read copies only when the range spans segments; else it points in.
        if (p != out.data()) std::memcpy(out.data(), p, out.size());
        return true;
    }
    // A pointer to `len` contiguous bytes at `offset`: into the packet when they sit in one
    // segment, else copied into `scratch` (of at least `len` bytes). Null when too short.
    const std::uint8_t* read(std::uint32_t offset, std::uint32_t len, std::uint8_t* scratch) const noexcept {
        return static_cast<const std::uint8_t*>(rte_pktmbuf_read(m_, offset, len, scratch));
    }
    // The first segment's bytes.
    std::span<const std::uint8_t> front() const noexcept {
        return {rte_pktmbuf_mtod(m_, const std::uint8_t*), m_->data_len};
    }
    // The bytes of buffer the chain pins (the sum of its segments' buf_len), as
    // PacketBuf::buffer_footprint: what a receive buffer limit counts.
    std::size_t buffer_footprint() const noexcept {
        std::size_t n = 0;
        for (const rte_mbuf* s = m_; s != nullptr; s = s->next) n += s->buf_len;
        return n;
    }

private:
    const rte_mbuf* m_;
};

}  // namespace pollux::buf
