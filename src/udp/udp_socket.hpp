// UdpSocket: a SOCK_DGRAM / IPPROTO_UDP socket (Linux net/ipv4/udp.c, datagram.c).
//
// Receive: the demux hands over the datagram's mbufs, trimmed to the payload; they wait in
// a PacketQueue, bounded by SO_RCVBUF counted in buffer bytes (the kernel's truesize), and
// recvmsg copies them out. The sender's address and port ride in the queue's per-packet
// tag. Send: the payload is copied into fresh mbufs behind reserved headroom, the UDP header
// is prepended, and IPv4 fragments what exceeds the MTU. Nothing allocates from the heap.
//
// The order of checks in sendmsg/recvmsg is Linux's, since it decides which errno a caller
// sees when several apply (inet_sendmsg -> udp_sendmsg -> ip_make_skb; udp_recvmsg).
#pragma once

#include "buf/packet_queue.hpp"
#include "socket/socket.hpp"
#include "udp/udp_layer.hpp"

namespace pollux::udp {

class UdpSocket final : public socket::Socket {
public:
    explicit UdpSocket(UdpLayer& layer);
    ~UdpSocket() override;

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
    // udp_poll(): datagram_poll() over the receive queue, the pending error, the shutdown bits.
    std::uint32_t poll_mask() const noexcept override;

    // ---- called by UdpLayer ----
    // Queues a datagram (mbufs trimmed to the payload) from `from`; false when the queue is
    // over SO_RCVBUF (the caller counts the drop and frees the packet... here: it is freed).
    bool enqueue(buf::PacketBuf&& payload, const wire::Endpoint& from) noexcept;
    // An ICMP error about a datagram this socket sent (Linux __udp4_lib_err): recorded as
    // the pending error only when it is hard and the socket is connected.
    void icmp_error(int errno_value) noexcept;
    bool connected() const noexcept { return connected_; }
    std::size_t queued_bytes() const noexcept { return rx_.footprint(); }
    std::size_t queued_datagrams() const noexcept { return rx_.size(); }

private:
    void options_changed() noexcept override;
    // IPPROTO_UDP options (UDP_CORK, UDP_SEGMENT, ...) are not implemented: ENOPROTOOPT,
    // as udp_lib_getsockopt() answers for a name it does not know.
    int protocol_getsockopt(int level, int name, std::span<std::uint8_t> out, std::size_t& len) noexcept override;
    int autobind() noexcept;
    long send_datagram(std::span<const iovec> data, std::size_t len, const wire::Endpoint& dst,
                       time::Instant now) noexcept;

    UdpLayer& layer_;
    buf::PacketQueue rx_;
    bool bound_ = false;
    bool connected_ = false;
    wire::Endpoint local_;
    wire::Endpoint remote_;
};

}  // namespace pollux::udp
