#include "ip/fragmentation.hpp"

#include <algorithm>

namespace pollux::ip {

namespace {

// A fresh one-segment packet holding the header `r` describes. A fresh mbuf, never the
// datagram's first segment: that one may be shared (a clone in a retransmission queue),
// and the fragments' indirect mbufs point into its buffer, which is then read-only.
buf::PacketBuf make_header(const wire::Ipv4Repr& r, rte_mempool* pool) noexcept {
    buf::PacketBuf h = buf::PacketBuf::alloc(pool);
    if (!h) return h;
    std::uint8_t* out = h.append(static_cast<std::uint16_t>(wire::Ipv4Repr::buffer_len()));
    if (out == nullptr) return {};  // a pool whose data room cannot hold 20 bytes
    r.emit({out, wire::Ipv4Repr::buffer_len()});
    return h;
}

}  // namespace

bool build_fragments(buf::PacketBuf&& datagram, const wire::Ipv4Repr& ip, std::uint16_t mtu,
                     rte_mempool* pool, FragmentBatch& out) noexcept {
    const std::uint32_t len = datagram ? datagram.length() : 0;
    const std::uint32_t header = wire::ipv4::min_header_len;
    // RFC 791: no datagram, and so no fragment, ends past 65535 bytes.
    if (std::uint64_t{header} + ip.frag_offset + len > wire::ipv4::max_packet_len) return false;

    if (header + len <= mtu) {
        wire::Ipv4Repr r = ip;
        r.payload_len = static_cast<std::uint16_t>(len);
        r.header_len = static_cast<std::uint8_t>(header);
        buf::PacketBuf whole = make_header(r, pool);
        if (!whole) return false;
        // Chained, not prepended into the datagram's headroom: see make_header().
        if (len != 0 && !whole.chain(std::move(datagram))) return false;
        datagram.reset();
        out.push(std::move(whole));
        return true;
    }
    // RFC 791: DF forbids fragmenting; RFC 1191 has the sender learn the path MTU instead.
    if (ip.dont_fragment || mtu < min_mtu) return false;

    // RFC 791: every fragment but the last carries a multiple of 8 bytes.
    const std::uint32_t chunk = (mtu - header) / 8 * 8;
    for (std::uint32_t off = 0; off < len; off += chunk) {
        const std::uint32_t n = std::min(chunk, len - off);
        wire::Ipv4Repr r = ip;
        r.payload_len = static_cast<std::uint16_t>(n);
        r.header_len = static_cast<std::uint8_t>(header);
        r.frag_offset = static_cast<std::uint16_t>(ip.frag_offset + off);
        r.more_fragments = off + n < len || ip.more_fragments;
        buf::PacketBuf f = make_header(r, pool);
        buf::PacketBuf body = f ? datagram.clone_range(off, n, pool) : buf::PacketBuf();
        if (!body || !f.chain(std::move(body)) || !out.push(std::move(f))) {
            out.clear();  // the clones release their references; `datagram` is intact
            return false;
        }
    }
    datagram.reset();
    return true;
}

}  // namespace pollux::ip
