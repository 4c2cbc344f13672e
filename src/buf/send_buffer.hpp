// SendBuffer: the bytes of a TCP connection that are unacknowledged or not yet sent
// (RFC 9293 §3.3.1: from SND.UNA on), held in mbufs that segments share without a copy.
//
// The data path: append() copies the application's iovecs in (the one copy of a send);
// slice() hands the TCB a segment's payload as indirect mbufs pointing into the buffer
// (zero copy; the TCB chains it behind its header mbuf); consume() drops what the peer
// acknowledged. Nothing here allocates from the heap; segments come from the mempool the
// caller names.
//
// Storage: a SegmentChain (segment_chain.hpp says why neither one PacketBuf nor a
// PacketQueue): no cap on the number of segments, and a slice may start in one segment
// and end in another.
//
// Coalescing: append() fills the last segment's tailroom before taking a new segment, as
// Linux's tcp_sendmsg grows the tail skb, so a stream of 1-byte writes costs one mbuf
// per ~2 KiB, not one per write. Fresh segments start their data at the buffer's first
// byte (data_off 0): payload never needs headroom (headers go in the caller's own mbuf
// in front), so the 128 bytes of headroom carry data instead.
//
// Why appending after a slice is safe (no copy-on-write needed): a slice's mbufs are
// indirect (rte_pktmbuf_attach), each with its own copy of data_off/data_len fixed when
// it was made, pointing into our segment's buffer. append() writes only past the end of
// the bytes the segment holds, into tailroom no slice covers (a slice covers held bytes
// only), and never rewrites a held byte. consume() moves our segment's own data_off and
// data_len, which the slice's mbufs do not read. A segment freed while slices still point
// into it is only unreferenced (its refcnt drops); DPDK returns it to its pool when the
// last slice is freed (__rte_pktmbuf_free_direct). So a slice reads the same bytes from
// when it is made until it is freed, whatever the buffer does meanwhile, including after
// clear() or the buffer's destruction. Both sides run on the owning shard; a slice being
// read by the NIC (DMA, after tx_burst) while the CPU appends behind it reads other
// bytes of the same buffer, which is well defined.
// append() writes only into segments it allocated itself (direct mbufs), never into an
// indirect or external buffer.
//
// Cost: append is O(bytes copied). slice is O(segments it touches): the buffer remembers
// where its last lookups ended (byte positions, see SegmentChain::front_position) and
// starts from the nearest of those, or from the front, so sending a 4 MiB buffer in
// MSS-sized slices walks each segment about once, and a retransmission from the front is
// found at once. consume is O(segments freed).
//
// Threads: one owner (the shard), no lock.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>

#include <rte_mbuf.h>

#include "buf/packet_buf.hpp"
#include "buf/segment_chain.hpp"

namespace pollux::buf {

class SendBuffer {
public:
    SendBuffer() noexcept = default;
    // The moved-from buffer is empty and usable.
    SendBuffer(SendBuffer&& o) noexcept
        : chain_(std::move(o.chain_)),
          last_(std::exchange(o.last_, Cursor{})),
          furthest_(std::exchange(o.furthest_, Cursor{})),
          seek_steps_(o.seek_steps_) {}
    SendBuffer& operator=(SendBuffer&& o) noexcept {
        chain_ = std::move(o.chain_);
        last_ = std::exchange(o.last_, Cursor{});
        furthest_ = std::exchange(o.furthest_, Cursor{});
        return *this;
    }
    SendBuffer(const SendBuffer&) = delete;
    SendBuffer& operator=(const SendBuffer&) = delete;

    // Copies up to `max_bytes` from `data`, in order, to the end of the stream, taking
    // segments from `pool`. Returns the bytes appended, which is short when the pool runs
    // dry. Errors, only when nothing was appended by this call (as Linux's tcp_sendmsg
    // returns the bytes copied before a fault): -ENOBUFS, the pool is dry; -EFAULT, an
    // iovec that had to give bytes (within `max_bytes`) has a null base; nothing of that
    // iovec is appended, nor of any after it.
    long append(std::span<const iovec> data, std::size_t max_bytes, rte_mempool* pool) noexcept;

    // A new chain of the `len` bytes from `offset` (0 = the oldest unacknowledged byte,
    // SND.UNA), sharing the buffer's data: one indirect mbuf from `pool` per segment it
    // touches, the head's pkt_len/nb_segs set. The caller puts its header in front in
    // its own mbuf; the shared bytes are read-only. Empty when `len` is 0, the range runs
    // past size(), it would need more than 65,535 segments, or the pool runs dry (nothing
    // is then held).
    PacketBuf slice(std::uint32_t offset, std::uint32_t len, rte_mempool* pool) const noexcept;

    // Drops the first `n` bytes (newly acknowledged: SND.UNA advances by n); all of them
    // when n > size().
    void consume(std::uint32_t n) noexcept;

    // Bytes held (sent and unacknowledged, plus unsent).
    std::size_t size() const noexcept { return chain_.size(); }
    bool empty() const noexcept { return chain_.empty(); }
    // Bytes of mbuf buffer held (sum of buf_len): what SO_SNDBUF bounds, as Linux counts
    // skb truesize in sk_wmem_queued. Buffers still pinned only by slices in flight after
    // their bytes were consumed are not counted.
    std::size_t footprint() const noexcept { return chain_.footprint(); }
    std::size_t segment_count() const noexcept { return chain_.segment_count(); }
    // Copies `out.size()` bytes from `offset` into `out` (false when fewer are held):
    // for the TCB's slow paths and tests; O(offset).
    bool copy_out(std::size_t offset, std::span<std::uint8_t> out) const noexcept {
        return chain_.copy_out(offset, out);
    }

    // Frees every segment (slices already made stay valid).
    void clear() noexcept;

    // Segments that slice() lookups stepped over since construction: lets tests check
    // that lookups stay O(segments touched).
    std::uint64_t seek_steps() const noexcept { return seek_steps_; }

private:
    // A segment and the stream position (SegmentChain::front_position() scale) of its
    // first held byte when the cursor was taken. Null when unset.
    struct Cursor {
        rte_mbuf* seg = nullptr;
        std::uint64_t position = 0;
    };

    // Copies `bytes` to the end; returns how many fit before the pool ran dry.
    std::size_t copy_in(std::span<const std::uint8_t> bytes, rte_mempool* pool) noexcept;
    // The segment holding stream position `target` (which must be held), from the
    // nearest known segment at or before it.
    Cursor seek(std::uint64_t target) const noexcept;

    SegmentChain chain_;
    // Where the last slice ended, and the furthest any slice reached (new data is sent
    // from there while retransmissions look near the front).
    mutable Cursor last_;
    mutable Cursor furthest_;
    mutable std::uint64_t seek_steps_ = 0;
};

}  // namespace pollux::buf
