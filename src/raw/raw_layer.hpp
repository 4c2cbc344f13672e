// Raw IPv4 sockets for one shard (Linux net/ipv4/raw.c): the raw sockets, in one
// intrusive list per protocol as Linux's raw_v4_hashinfo keys them, and the receive hook
// IPv4 calls for every datagram it delivers (raw_local_deliver -> raw_v4_input).
//
// Receive: every raw socket whose protocol is the datagram's, whose bound address (if
// any) is the destination and whose connected address (if any) is the source gets its own
// copy of the whole datagram, IPv4 header included. A copy is a clone: indirect mbufs
// pointing into the received buffers, no byte copied. The one exception is an ICMP echo
// request, which Icmp answers by rewriting the request's own buffer: raw sockets get a
// private copy of it (see raw_layer.cpp). The protocol's own handler (ICMP, UDP, TCP)
// still runs after us; for a protocol with none, a datagram some raw socket matched earns
// no protocol unreachable (Linux counts a match even when its copy is dropped, and so do
// we).
//
// Contract: only the owning shard's thread calls in. Sockets are linked at creation and
// unlinked at close(), never on the data path; the layer outlives its sockets. A socket
// must not be closed from inside raw_input() (the delivery loop walks the list).
#pragma once

#include <array>
#include <cstddef>
#include <memory>

#include <boost/intrusive/list.hpp>

#include "ip/ipv4_layer.hpp"
#include "ip/raw_handler.hpp"
#include "raw/counters.hpp"
#include "raw/raw_socket.hpp"

namespace pollux::raw {

class RawLayer final : public ip::RawHandler {
public:
    // Registers itself as `ip`'s raw handler; the destructor unregisters.
    explicit RawLayer(ip::Ipv4Layer& ip);
    ~RawLayer() override;
    RawLayer(const RawLayer&) = delete;
    RawLayer& operator=(const RawLayer&) = delete;

    // A socket(AF_INET, SOCK_RAW, protocol) for protocol 1..255 (the API refuses 0 with
    // EPROTONOSUPPORT first). It is linked, hence receiving, from now until close().
    std::unique_ptr<RawSocket> create_socket(int protocol);

    bool raw_input(const buf::PacketBuf& packet, const wire::Ipv4Repr& ip, time::Instant now) noexcept override;

    ip::Ipv4Layer& ip() noexcept { return ip_; }
    RawCounters& counters() noexcept { return counters_; }
    const RawCounters& counters() const noexcept { return counters_; }
    // Raw sockets open (linked) on this shard.
    std::size_t socket_count() const noexcept { return count_; }

    // ---- called by RawSocket ----
    void link(RawSocket& socket) noexcept;
    void unlink(RawSocket& socket) noexcept;

private:
    using Bucket = boost::intrusive::list<
        RawSocket, boost::intrusive::member_hook<RawSocket, RawSocket::Hook, &RawSocket::hook_>,
        boost::intrusive::constant_time_size<false>>;

    ip::Ipv4Layer& ip_;
    std::array<Bucket, 256> by_protocol_;  // Linux hashes raw sockets by protocol too
    std::size_t count_ = 0;
    RawCounters counters_;
};

}  // namespace pollux::raw
