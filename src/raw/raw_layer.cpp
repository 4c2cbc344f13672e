#include "raw/raw_layer.hpp"

#include <cassert>


namespace pollux::raw {

RawLayer::RawLayer(ip::Ipv4Layer& ip) : ip_(ip) { ip_.set_raw_handler(this); }

RawLayer::~RawLayer() {
    ip_.set_raw_handler(nullptr);
    for (Bucket& b : by_protocol_) b.clear();  // sockets still open only lose their links
}

std::unique_ptr<RawSocket> RawLayer::create_socket(int protocol) {
    assert(protocol > 0 && protocol < 256);
    return std::make_unique<RawSocket>(*this, protocol);
}

void RawLayer::link(RawSocket& socket) noexcept {
    by_protocol_[static_cast<std::uint8_t>(socket.protocol())].push_back(socket);
    ++count_;
}

void RawLayer::unlink(RawSocket& socket) noexcept {
    Bucket& b = by_protocol_[static_cast<std::uint8_t>(socket.protocol())];
    b.erase(b.iterator_to(socket));
    --count_;
}

// Linux's raw_v4_input(): a copy for every matching socket of the datagram's protocol.
// A match counts as delivered even when its copy is then dropped (no mbufs, SO_RCVBUF):
// IPv4 must not answer "protocol unreachable" for a protocol someone listens to.
bool RawLayer::raw_input(const buf::PacketBuf& packet, const wire::Ipv4Repr& ip, time::Instant) noexcept {
    Bucket& bucket = by_protocol_[static_cast<std::uint8_t>(ip.protocol)];
    if (bucket.empty()) return false;
    rte_mempool* pool = ip_.interface().pool();
    const std::uint32_t len = packet.length();
    bool matched = false;
    for (RawSocket& socket : bucket) {
        if (!socket.matches(ip)) continue;
        matched = true;
        // Zero copy: a clone shares the mbufs. Icmp copies before it turns an echo
        // request around in place when a clone holds it (PacketBuf::is_shared).
        buf::PacketBuf copy = packet.clone_range(0, len, pool);
        if (!copy) {
            counters_.clone_errors.add();
            continue;
        }
        if (!socket.enqueue(std::move(copy), ip.src)) {
            counters_.rcvbuf_errors.add();
            continue;
        }
        counters_.in_delivers.add();
    }
    return matched;
}

}  // namespace pollux::raw
