// RawSocket: a SOCK_RAW socket of one IP protocol (Linux net/ipv4/raw.c, raw(7)).
//
// Receive: RawLayer queues a clone of every matching datagram, IPv4 header included, in a
// PacketQueue bounded by SO_RCVBUF (buffer bytes, as UDP); the source address rides in the
// queue's tag. recvmsg copies one datagram out and names its source with port 0.
//
// Send: without IP_HDRINCL the caller's bytes are the IP payload and IPv4 builds the
// header (this socket's protocol, IP_TTL, IP_TOS, DF as Linux's default path-MTU mode
// sets it, the bound source or the route's), fragmenting what exceeds the MTU. With
// IP_HDRINCL (on from socket() for IPPROTO_RAW, as Linux's inet_create sets it; it can be
// turned off) the caller's bytes are the whole datagram; the stack fills total length and
// checksum, the identification when 0 and the source when 0.0.0.0 (the bound source, else
// the route's), and never fragments it.
//
// The addresses are Linux's inet_sock fields: bind() sets the receive address (the
// filter on a datagram's destination, and getsockname's address) and the send source
// (left 0 for a broadcast or multicast address); raw sockets have no ports, and
// getsockname shows the protocol number in sin_port (Linux's inet_num). connect() is
// ip4_datagram_connect: routed like a send (ENETUNREACH, EACCES), it fills the source
// and receive addresses from the route when unset, and sets the peer, which then filters
// a datagram's source; getpeername answers ENOTCONN when the peer's port was 0 (Linux
// reports inet_dport, which a raw connect sets to sin_port).
//
// Linux's behaviour kept on purpose, measured on a 6.x kernel:
// - connect(AF_UNSPEC) is __udp_disconnect, and raw_bind() takes no bind locks, so it
//   forgets the bound address and unhashes the socket: from then on it receives nothing
//   and getsockname shows 0.0.0.0:0.
// - an IPPROTO_RAW socket receives the datagrams whose protocol is 255 (raw(7) calls it
//   send-only, which holds for every other protocol).
// - a send without IP_HDRINCL checks neither the pending error nor SHUT_WR (ip_append_data
//   with no transport header allocates without sock_alloc_send_skb); one with IP_HDRINCL
//   does (EPIPE after SHUT_WR).
//
// Not implemented: ICMP_FILTER (SOL_RAW) answers ENOPROTOOPT on an IPPROTO_ICMP socket
// (EOPNOTSUPP on others, as Linux); ICMP errors are not reported to raw sockets (Linux's
// raw_icmp_error); an IP_HDRINCL datagram is routed by its header's destination, not by
// msg_name's (Linux routes by msg_name and leaves the header alone).
//
// The order of checks in sendmsg/recvmsg is Linux's (raw_sendmsg, raw_send_hdrinc,
// raw_recvmsg), since it decides which errno a caller sees when several apply.
#pragma once

#include <boost/intrusive/list_hook.hpp>

#include "buf/packet_queue.hpp"
#include "socket/socket.hpp"
#include "wire/ipv4.hpp"

namespace pollux::raw {

class RawLayer;

class RawSocket final : public socket::Socket {
public:
    // Links itself into `layer` (use RawLayer::create_socket). protocol: 1..255.
    RawSocket(RawLayer& layer, int protocol);
    ~RawSocket() override;

    int bind(const wire::Endpoint& local) noexcept override;
    int connect(const socket::Destination& to, time::Instant now) noexcept override;
    long sendmsg(std::span<const iovec> data, const socket::Destination& to, int flags,
                 time::Instant now) noexcept override;
    long recvmsg(std::span<const iovec> data, int flags, socket::RecvMeta& meta) noexcept override;
    int shutdown(int how) noexcept override;
    int local_endpoint(wire::Endpoint& out) const noexcept override;
    int remote_endpoint(wire::Endpoint& out) const noexcept override;
    int bytes_readable() const noexcept override;
    void close() noexcept override;
    // datagram_poll() over the receive queue, the pending error, the shutdown bits.
    std::uint32_t poll_mask() const noexcept override;

    // ---- called by RawLayer ----
    // Linux's raw_v4_match(): this socket wants a copy of `ip`'s datagram.
    bool matches(const wire::Ipv4Repr& ip) const noexcept {
        return (!connected_ || remote_.address == ip.src) && (rcv_address_.is_unspecified() || rcv_address_ == ip.dst);
    }
    // Queues a datagram (starting at its IPv4 header) from `from`; false, and the datagram
    // freed, when the queue is at SO_RCVBUF.
    bool enqueue(buf::PacketBuf&& datagram, wire::Ipv4Address from) noexcept;
    bool connected() const noexcept { return connected_; }
    bool receiving() const noexcept { return hook_.is_linked(); }
    std::size_t queued_bytes() const noexcept { return rx_.footprint(); }
    std::size_t queued_datagrams() const noexcept { return rx_.size(); }

private:
    friend class RawLayer;
    using Hook = boost::intrusive::list_member_hook<>;  // safe mode: is_linked() is exact

    int protocol_setsockopt(int level, int name, std::span<const std::uint8_t> value) noexcept override;
    int protocol_getsockopt(int level, int name, std::span<std::uint8_t> out, std::size_t& len) noexcept override;
    int disconnect() noexcept;
    // The route checks every send and connect makes; 0 or -errno.
    int check_route(wire::Ipv4Address dst) const noexcept;
    long send_hdrincl(std::span<const iovec> data, std::size_t len, wire::Ipv4Address dst,
                      time::Instant now) noexcept;
    long send_payload(std::span<const iovec> data, std::size_t len, wire::Ipv4Address dst,
                      time::Instant now) noexcept;
    // The user's bytes in a fresh packet from the interface's pool; empty on failure
    // (`error` then holds -ENOBUFS or -EFAULT).
    buf::PacketBuf copy_in(std::span<const iovec> data, int& error) noexcept;

    RawLayer& layer_;
    Hook hook_;
    buf::PacketQueue rx_;
    wire::Ipv4Address rcv_address_;  // inet_rcv_saddr: filters destinations, getsockname
    wire::Ipv4Address source_;       // inet_saddr: the source of sends; 0 = the route's
    bool connected_ = false;         // TCP_ESTABLISHED in Linux's terms
    wire::Endpoint remote_;          // inet_daddr and inet_dport
};

}  // namespace pollux::raw
