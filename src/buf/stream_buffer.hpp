// StreamBuffer: a TCP connection's received in-order bytes waiting for the application
// (RFC 9293 §3.10.7.4: the segment text moved "into the user's receive buffer").
//
// Received payloads are kept in the mbufs they arrived in (zero copy from the NIC):
// push() links the packet's segments behind the ones held; read() is the one copy, into
// the application's iovecs. A read may end inside a segment: the rest stays, with that
// segment's start moved past what was read.
//
// Storage: a SegmentChain, not the PacketQueue the datagram sockets use: a stream read
// (and MSG_PEEK) continues across packet boundaries, so it must walk past the first
// packet, which a PacketQueue shows only through front(); and TCP keeps no record
// boundaries to remember. segment_chain.hpp has the rest of the reasoning. push() does
// not allocate: it relinks the packet's own segments.
//
// Threads: one owner (the shard, or whoever holds the socket's lock), no lock here.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>

#include "buf/packet_buf.hpp"
#include "buf/segment_chain.hpp"

namespace pollux::buf {

class StreamBuffer {
public:
    StreamBuffer() noexcept = default;

    // Appends `data` (the payload alone: headers already trimmed off), whose bytes come
    // right after the ones held. An empty handle or a zero-length packet adds nothing;
    // segments without bytes are freed at once.
    void push(PacketBuf&& data) noexcept { chain_.append(std::move(data)); }

    // Copies up to the iovecs' total from the front into them, in order, across packets;
    // the bytes copied are removed unless `peek` (MSG_PEEK). Returns the bytes copied
    // (0 when empty). -EFAULT when an iovec that had to receive bytes has a null base and
    // nothing was copied before it; when something was, that count is returned (and, not
    // peeking, consumed), as Linux's tcp_recvmsg returns the bytes copied before a fault.
    long read(std::span<const iovec> out, bool peek) noexcept;

    // Drops the first `n` bytes unread (all when n > size()).
    void consume(std::size_t n) noexcept { chain_.consume(n); }

    // Bytes waiting (FIONREAD / SIOCINQ).
    std::size_t size() const noexcept { return chain_.size(); }
    bool empty() const noexcept { return chain_.empty(); }
    // Bytes of mbuf buffer held (sum of buf_len): what SO_RCVBUF bounds, as Linux counts
    // skb truesize in sk_rmem_alloc.
    std::size_t footprint() const noexcept { return chain_.footprint(); }
    std::size_t segment_count() const noexcept { return chain_.segment_count(); }

    void clear() noexcept { chain_.clear(); }

private:
    SegmentChain chain_;
};

}  // namespace pollux::buf
