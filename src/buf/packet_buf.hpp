// PacketBuf: the owning handle of an rte_mbuf chain, the packet buffer of every layer.
//
// Frames move from the NIC to a socket's receive queue and from a send queue to the NIC
// without copies, so every layer holds packets as PacketBufs; only src/buf/, src/phy/ and
// src/runtime/ use the rte_mbuf API directly. The methods are inline (this header includes
// rte_mbuf.h) because they run once or more per packet: an out-of-line call per prepend
// would cost more than the prepend.
//
// Ownership: a PacketBuf frees its whole chain when destroyed. It is move-only; release()
// hands the chain to code that takes ownership (rte_eth_tx_burst, a ring).
#pragma once

#include <cstdint>
#include <cstring>
#include <iterator>
#include <span>
#include <utility>

#include <rte_mbuf.h>

namespace pollux::buf {

// What the receiving port says about a checksum (RTE_MBUF_F_RX_*_CKSUM_*).
enum class RxChecksum : std::uint8_t {
    unknown,  // not checked by the port: software must verify
    good,     // verified by the port
    bad,      // the port found it wrong
    none,     // the port says the packet's checksum is not valid but data is (e.g. virtio)
};

// The chain's segments as byte spans, in order.
class SegmentRange {
public:
    class iterator {
    public:
        using iterator_category = std::forward_iterator_tag;
        using value_type = std::span<std::uint8_t>;
        using difference_type = std::ptrdiff_t;
        using pointer = void;
        using reference = value_type;

        iterator() noexcept = default;
        explicit iterator(rte_mbuf* m) noexcept : m_(m) {}
        value_type operator*() const noexcept {
            return {rte_pktmbuf_mtod(m_, std::uint8_t*), m_->data_len};
        }
        iterator& operator++() noexcept { m_ = m_->next; return *this; }
        iterator operator++(int) noexcept { iterator t = *this; ++*this; return t; }
        bool operator==(const iterator&) const noexcept = default;

    private:
        rte_mbuf* m_ = nullptr;
    };

    explicit SegmentRange(rte_mbuf* head) noexcept : head_(head) {}
    iterator begin() const noexcept { return iterator(head_); }
    iterator end() const noexcept { return iterator(); }

private:
    rte_mbuf* head_;
};

class PacketBuf {
public:
    PacketBuf() noexcept = default;
    // Adopts `m` (which may be null): the PacketBuf now frees it.
    explicit PacketBuf(rte_mbuf* m) noexcept : m_(m) {}
    ~PacketBuf() { reset(); }

    PacketBuf(PacketBuf&& o) noexcept : m_(std::exchange(o.m_, nullptr)) {}
    PacketBuf& operator=(PacketBuf&& o) noexcept {
        if (this != &o) {
            reset();
            m_ = std::exchange(o.m_, nullptr);
        }
        return *this;
    }
    PacketBuf(const PacketBuf&) = delete;
    PacketBuf& operator=(const PacketBuf&) = delete;

    // An empty packet from `pool`, or an empty handle when the pool is exhausted.
    static PacketBuf alloc(rte_mempool* pool) noexcept { return PacketBuf(rte_pktmbuf_alloc(pool)); }

    explicit operator bool() const noexcept { return m_ != nullptr; }
    rte_mbuf* get() const noexcept { return m_; }
    // Gives up ownership without freeing.
    [[nodiscard]] rte_mbuf* release() noexcept { return std::exchange(m_, nullptr); }
    void reset() noexcept {
        if (m_ != nullptr) rte_pktmbuf_free(std::exchange(m_, nullptr));
    }

    // Total bytes in the chain.
    std::uint32_t length() const noexcept { return m_->pkt_len; }
    std::uint16_t segment_count() const noexcept { return m_->nb_segs; }
    bool is_contiguous() const noexcept { return rte_pktmbuf_is_contiguous(m_) != 0; }
    std::uint16_t headroom() const noexcept { return rte_pktmbuf_headroom(m_); }
    std::uint16_t tailroom() const noexcept { return rte_pktmbuf_tailroom(rte_pktmbuf_lastseg(m_)); }

    // The first segment's bytes: where headers are parsed and built.
    std::span<std::uint8_t> front() const noexcept {
        return {rte_pktmbuf_mtod(m_, std::uint8_t*), m_->data_len};
    }
    SegmentRange segments() const noexcept { return SegmentRange(m_); }

    // Grows the packet by `n` bytes at the front (headers); null when the headroom is short,
    // and the packet is then unchanged.
    std::uint8_t* prepend(std::uint16_t n) noexcept {
        return reinterpret_cast<std::uint8_t*>(rte_pktmbuf_prepend(m_, n));
    }
    // Grows the packet by `n` bytes at the end of the last segment; null when its tailroom
    // is short, and the packet is then unchanged.
    std::uint8_t* append(std::uint16_t n) noexcept {
        return reinterpret_cast<std::uint8_t*>(rte_pktmbuf_append(m_, n));
    }
    // Removes `n` bytes from the front (a parsed header); false when the first segment is
    // shorter than `n`, and the packet is then unchanged.
    bool adjust(std::uint16_t n) noexcept { return rte_pktmbuf_adj(m_, n) != nullptr; }
    // Removes `n` bytes from the end (link padding); false when the last segment is shorter
    // than `n`, and the packet is then unchanged.
    bool trim(std::uint16_t n) noexcept { return rte_pktmbuf_trim(m_, n) == 0; }
    // Cuts the packet to `len` bytes, across segments, freeing segments left empty.
    // False (and unchanged) when `len` exceeds the length.
    bool truncate(std::uint32_t len) noexcept;
    // Appends `tail`'s chain to this one. False (and both unchanged) when the result
    // would have too many segments.
    bool chain(PacketBuf&& tail) noexcept;

    // Copies `out.size()` bytes from `offset` into `out`, across segments. False when the
    // packet is shorter than offset + size.
    bool copy_out(std::uint32_t offset, std::span<std::uint8_t> out) const noexcept;
    // A pointer to `len` contiguous bytes at `offset`: into the packet when they sit in one
    // segment, else copied into `scratch` (of at least `len` bytes). Null when too short.
    const std::uint8_t* read(std::uint32_t offset, std::uint32_t len, std::uint8_t* scratch) const noexcept {
        return static_cast<const std::uint8_t*>(rte_pktmbuf_read(m_, offset, len, scratch));
    }
    // Copies `data` to the end of the packet, allocating segments from `pool` when the
    // last one is full. False (and the packet unchanged) when the pool runs dry.
    bool append_copy(std::span<const std::uint8_t> data, rte_mempool* pool) noexcept;

    // ---- offload metadata (rte_mbuf tx_offload and ol_flags) ----
    std::uint8_t l2_len() const noexcept { return static_cast<std::uint8_t>(m_->l2_len); }
    std::uint16_t l3_len() const noexcept { return static_cast<std::uint16_t>(m_->l3_len); }
    std::uint8_t l4_len() const noexcept { return static_cast<std::uint8_t>(m_->l4_len); }
    std::uint16_t tso_segment_size() const noexcept { return static_cast<std::uint16_t>(m_->tso_segsz); }
    void set_header_lengths(std::uint8_t l2, std::uint16_t l3, std::uint8_t l4) noexcept {
        m_->l2_len = l2;
        m_->l3_len = l3;
        m_->l4_len = l4;
    }
    // Each request_* sets the tx flags the port needs (the caller checked the port offers
    // it) and relies on the header lengths. The L4 checksum field must hold the
    // pseudo-header sum, as DPDK's offload convention requires.
    void request_ipv4_checksum() noexcept { m_->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM; }
    void request_tcp_checksum() noexcept { m_->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_TCP_CKSUM; }
    void request_udp_checksum() noexcept { m_->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_UDP_CKSUM; }
    // TCP segmentation: the port cuts the payload into `mss`-byte segments.
    void request_tso(std::uint16_t mss) noexcept {
        m_->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_TCP_CKSUM;
        m_->tso_segsz = mss;
    }
    std::uint64_t offload_flags() const noexcept { return m_->ol_flags; }
    void clear_offload_flags() noexcept { m_->ol_flags = 0; }

    RxChecksum rx_ip_checksum() const noexcept {
        return rx_status(m_->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK, RTE_MBUF_F_RX_IP_CKSUM_GOOD,
                         RTE_MBUF_F_RX_IP_CKSUM_BAD, RTE_MBUF_F_RX_IP_CKSUM_NONE);
    }
    RxChecksum rx_l4_checksum() const noexcept {
        return rx_status(m_->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK, RTE_MBUF_F_RX_L4_CKSUM_GOOD,
                         RTE_MBUF_F_RX_L4_CKSUM_BAD, RTE_MBUF_F_RX_L4_CKSUM_NONE);
    }
    // The port's RSS hash, when it computed one.
    bool has_rss_hash() const noexcept { return (m_->ol_flags & RTE_MBUF_F_RX_RSS_HASH) != 0; }
    std::uint32_t rss_hash() const noexcept { return m_->hash.rss; }

    // ---- sharing and accounting (IP fragmentation and reassembly) ----
    // The bytes of buffer the chain pins: the sum of its segments' buf_len, whether the
    // data is used or not. Like the kernel's skb truesize, this is what a cache of held
    // packets (reassembly queues) must count against its memory limit: a 60-byte fragment
    // still holds a whole mbuf. An indirect segment counts the buffer it points into.
    std::size_t buffer_footprint() const noexcept {
        std::size_t n = 0;
        for (const rte_mbuf* s = m_; s != nullptr; s = s->next) n += s->buf_len;
        return n;
    }
    // A new packet of `len` bytes starting at `offset` that shares this one's data: one
    // indirect mbuf from `pool` per segment the range touches (rte_pktmbuf_attach), no
    // byte copied. The shared bytes must be treated as read-only by both packets; put new
    // headers in a fresh mbuf chained in front. Empty when `len` is 0, the range runs past
    // the end, or the pool runs dry (nothing is then held).
    PacketBuf clone_range(std::uint32_t offset, std::uint32_t len, rte_mempool* pool) const noexcept;
    // True when another packet may read these bytes: some segment is a clone (an indirect
    // mbuf) or its buffer is referenced more than once. Writing in place is then wrong.
    bool is_shared() const noexcept {
        for (const rte_mbuf* s = m_; s != nullptr; s = s->next) {
            if (RTE_MBUF_CLONED(s) || rte_mbuf_refcnt_read(s) > 1) return true;
        }
        return false;
    }
    // A private copy of the whole packet in fresh mbufs from `pool` (offload metadata not
    // carried over); empty when the pool runs dry.
    PacketBuf deep_copy(rte_mempool* pool) const noexcept {
        PacketBuf copy = alloc(pool);
        if (!copy) return {};
        for (const auto segment : segments()) {
            if (!copy.append_copy(segment, pool)) return {};
        }
        return copy;
    }
    // Forgets the port's verdict on the L4 checksum (it becomes RxChecksum::unknown), for
    // packets whose L4 bytes the port never saw as a whole: a reassembled datagram.
    void clear_rx_l4_checksum() noexcept { m_->ol_flags &= ~RTE_MBUF_F_RX_L4_CKSUM_MASK; }
    // Says both checksums are good, whatever the rx verdicts were: a packet that never left
    // the host (loopback), as Linux's loopback_xmit sets CHECKSUM_UNNECESSARY. Its L4
    // checksum may hold only the pseudo-header sum a tx offload request left there.
    void mark_rx_checksums_good() noexcept {
        m_->ol_flags = (m_->ol_flags & ~(RTE_MBUF_F_RX_IP_CKSUM_MASK | RTE_MBUF_F_RX_L4_CKSUM_MASK)) |
                       RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_GOOD;
    }

private:
    static RxChecksum rx_status(std::uint64_t bits, std::uint64_t good, std::uint64_t bad,
                                std::uint64_t none) noexcept {
        if (bits == good) return RxChecksum::good;
        if (bits == bad) return RxChecksum::bad;
        if (bits == none) return RxChecksum::none;
        return RxChecksum::unknown;
    }

    rte_mbuf* m_ = nullptr;
};

}  // namespace pollux::buf
