// IPv4 for one interface: input checks and delivery (the kernel's ip_rcv ->
// ip_local_deliver), reassembly, output with fragmentation (ip_queue_xmit ->
// ip_fragment), ICMP, and loopback. pollux is a host stack: packets not for us are
// dropped, never forwarded.
//
// Loopback (Linux's lo): a datagram to our own address or to 127.0.0.0/8 never reaches
// the link. output() and output_raw() put it, with a complete header, on a bounded backlog
// (LoopbackQueue, MTU 65536: never fragmented); process_loopback() takes it in through the
// input checks, reassembly and delivery, as the softirq after loopback_xmit -> netif_rx
// does. Deferring delivery means a transport that answers a looped datagram (an echo
// reply, an ICMP error, a TCP ACK) never re-enters its own sender.
//
// Contract: only the owning shard calls in. on_timer() runs from the shard's timer;
// process_loopback() from the shard's loop, every iteration.
#pragma once

#include <array>
#include <cerrno>
#include <cstddef>
#include <cstdint>

#include "buf/packet_buf.hpp"
#include "iface/interface.hpp"
#include "ip/counters.hpp"
#include "ip/icmp.hpp"
#include "ip/loopback_queue.hpp"
#include "ip/raw_handler.hpp"
#include "ip/reassembly.hpp"
#include "ip/transport.hpp"
#include "time/instant.hpp"
#include "wire/ipv4.hpp"

namespace pollux::ip {

struct Ipv4Config {
    std::uint8_t default_ttl = wire::ipv4::default_ttl;
    bool offload_header_checksum = false;  // the port computes IPv4 header checksums
    ReassemblyLimits reassembly;
    IcmpRateConfig icmp_rate;
    std::uint16_t first_ident = 0;       // first IP identification (randomised by the runtime)
    std::uint64_t reassembly_seed = 0;   // keys the reassembly hash (random: no forced collisions)
    // Datagrams to ourselves waiting for process_loopback() (Linux's netdev_max_backlog).
    std::size_t loopback_backlog = LoopbackQueue::default_capacity;
};

enum class OutputResult : std::uint8_t {
    ok,
    no_route,    // ENETUNREACH
    too_big,     // DF set (or IP_HDRINCL) and larger than the path's MTU: EMSGSIZE
    no_buffers,  // ENOBUFS
    // EINVAL: an IP_HDRINCL header that is not IPv4 or not within the datagram; a 127/8
    // source to a destination off this host (Linux's route lookup refuses it).
    invalid,
};

// The errno a datagram socket's send returns for an output result: 0 for ok, else -errno.
constexpr int output_errno(OutputResult r) noexcept {
    switch (r) {
        case OutputResult::ok: return 0;
        case OutputResult::no_route: return -ENETUNREACH;
        case OutputResult::too_big: return -EMSGSIZE;
        case OutputResult::invalid: return -EINVAL;
        case OutputResult::no_buffers: break;
    }
    return -ENOBUFS;
}

class Ipv4Layer final : public iface::Ipv4Receiver {
public:
    // Linux's lo MTU: any IPv4 datagram (at most 65535 bytes) loops back whole.
    static constexpr std::uint32_t loopback_mtu = 65536;
    static constexpr wire::Ipv4Address loopback_address{127, 0, 0, 1};

    Ipv4Layer(iface::Interface& iface, const Ipv4Config& config);

    // Registers the handler of an IP protocol number (UDP, TCP); null unregisters.
    void set_transport(wire::IpProtocol protocol, TransportHandler* handler) noexcept {
        transports_[static_cast<std::uint8_t>(protocol)] = handler;
    }
    // Registers the raw sockets' hook, called first for every delivered datagram; null
    // unregisters.
    void set_raw_handler(RawHandler* handler) noexcept { raw_ = handler; }

    void ipv4_input(buf::PacketBuf&& packet, time::Instant now, bool link_broadcast) noexcept override;

    // Sends `payload` (the transport header and data) in one IPv4 datagram described by
    // `header` (dst, protocol, ttl, tos, dont_fragment; src 0.0.0.0 means source_for(dst)).
    // To a loopback destination it is queued for process_loopback(), with no route needed
    // and never fragmented (a datagram over 65535 bytes is too_big); a full backlog drops
    // it and still answers ok, as Linux's loopback_xmit does. Otherwise it goes to the
    // link, fragmented when it exceeds the MTU and DF is clear.
    OutputResult output(buf::PacketBuf&& payload, wire::Ipv4Repr header, time::Instant now) noexcept;

    // Sends a datagram whose header a raw socket's user wrote (IP_HDRINCL), as Linux's
    // raw_send_hdrinc: the total length and header checksum are always filled in, the
    // identification when it is 0, the source when it is 0.0.0.0 (source_for(dst)); the
    // rest is the user's. Never fragmented: larger than its path's MTU (65535 to a
    // loopback destination) is too_big. A datagram shorter than 20 bytes, not version 4,
    // with IHL < 5 or a header beyond the datagram (or its first segment) is invalid.
    // Routed by the header's destination, through loopback like output().
    OutputResult output_raw(buf::PacketBuf&& datagram, time::Instant now) noexcept;

    // Takes in the datagrams queued for loopback before this call (not those queued while
    // it runs: an answer to a looped datagram waits for the next call) and returns how
    // many it took off the queue. Each goes through the input path: header checks (the
    // checksum is not verified: it never left the host), reassembly, raw sockets, delivery.
    std::size_t process_loopback(time::Instant now) noexcept;
    // Datagrams waiting for process_loopback(): the shard's loop has work while non-zero.
    std::size_t loopback_pending() const noexcept { return loopback_.size(); }

    // The source address for a datagram to `dst` (RFC 1122 §3.3.4.3; Linux's
    // inet_select_addr): 127.0.0.1, lo's address, to 127/8; else our interface address.
    wire::Ipv4Address source_for(wire::Ipv4Address dst) const noexcept {
        return dst.is_loopback() ? loopback_address : iface_.address().address();
    }
    // True for our own address and 127/8: datagrams that loop back instead of leaving.
    bool is_loopback_destination(wire::Ipv4Address dst) const noexcept {
        return dst.is_loopback() || dst == iface_.address().address();
    }
    // How a datagram this layer delivered reached us, for Icmp::send_error: a source that
    // is this host (127/8 or ours) means loopback, since ipv4_input drops such sources from
    // the link as martians; a broadcast or multicast destination means broadcast. (A
    // link-layer broadcast to a unicast address is not visible here; the IP layer's own
    // errors take it into account.)
    Arrival arrival_of(const wire::Ipv4Repr& ip) const noexcept {
        if (is_loopback_destination(ip.src)) return Arrival::loopback;
        if (iface_.is_broadcast(ip.dst) || ip.dst.is_multicast()) return Arrival::broadcast;
        return Arrival::unicast;
    }

    // Reassembly timeouts.
    void on_timer(time::Instant now) noexcept;

    iface::Interface& interface() noexcept { return iface_; }
    Icmp& icmp() noexcept { return icmp_; }
    const Icmp& icmp() const noexcept { return icmp_; }
    TransportHandler* transport(std::uint8_t protocol) const noexcept { return transports_[protocol]; }
    const Ipv4Counters& counters() const noexcept { return counters_; }
    const ReassemblyCounters& reassembly_counters() const noexcept { return reassembler_.counters(); }
    std::uint8_t default_ttl() const noexcept { return config_.default_ttl; }

private:
    bool validate(buf::PacketBuf& packet, wire::Ipv4Repr& repr) noexcept;
    void loopback_input(buf::PacketBuf&& packet, time::Instant now) noexcept;
    void reassemble_and_deliver(buf::PacketBuf&& packet, wire::Ipv4Repr ip, Arrival arrival,
                                time::Instant now) noexcept;
    void deliver(buf::PacketBuf&& packet, const wire::Ipv4Repr& ip, Arrival arrival, time::Instant now) noexcept;
    // Queues a complete datagram (header checksum computed) for process_loopback().
    void output_loopback(buf::PacketBuf&& datagram) noexcept;
    // Hands a complete datagram to the link, through the route table unless broadcast.
    OutputResult transmit(buf::PacketBuf&& datagram, wire::Ipv4Address dst, time::Instant now) noexcept;
    OutputResult send_fragments(buf::PacketBuf&& payload, const wire::Ipv4Repr& header, time::Instant now) noexcept;

    iface::Interface& iface_;
    Ipv4Config config_;
    Icmp icmp_;
    Reassembler reassembler_;
    std::array<TransportHandler*, 256> transports_{};
    RawHandler* raw_ = nullptr;
    LoopbackQueue loopback_;
    std::uint16_t next_ident_;
    Ipv4Counters counters_;
};

}  // namespace pollux::ip
