// UDP for one shard (RFC 768, RFC 1122 §4.1): the receive demux (Linux __udp4_lib_rcv),
// ICMP errors for UDP (__udp4_lib_err), and the port table the sockets bind in.
//
// Contract: only the owning shard's thread calls in; sockets are created and closed there.
#pragma once

#include <cstdint>
#include <memory>

#include "ip/ipv4_layer.hpp"
#include "ip/transport.hpp"
#include "socket/port_manager.hpp"
#include "udp/counters.hpp"

namespace pollux::udp {

class UdpSocket;

struct UdpConfig {
    bool tx_checksum_offload = false;  // the port completes UDP checksums (DPDK convention)
    std::uint64_t port_seed = 0;       // keys ephemeral port choice (random in the runtime)
};

class UdpLayer final : public ip::TransportHandler {
public:
    UdpLayer(ip::Ipv4Layer& ip, const UdpConfig& config);
    ~UdpLayer() override;
    UdpLayer(const UdpLayer&) = delete;
    UdpLayer& operator=(const UdpLayer&) = delete;

    std::unique_ptr<UdpSocket> create_socket();

    void input(buf::PacketBuf&& packet, const wire::Ipv4Repr& ip, time::Instant now) noexcept override;
    void icmp_error(const wire::IcmpRepr& icmp, const wire::IcmpRepr::Quoted& quoted,
                    time::Instant now) noexcept override;

    ip::Ipv4Layer& ip() noexcept { return ip_; }
    socket::PortManager& ports() noexcept { return ports_; }
    const UdpConfig& config() const noexcept { return config_; }
    UdpCounters& counters() noexcept { return counters_; }
    const UdpCounters& counters() const noexcept { return counters_; }

private:
    bool checksum_ok(const buf::PacketBuf& packet, const wire::Ipv4Repr& ip, std::uint16_t udp_len,
                     std::uint16_t checksum) const noexcept;
    void deliver_broadcast(buf::PacketBuf&& packet, const wire::Ipv4Repr& ip, wire::Port sport, wire::Port dport) noexcept;

    ip::Ipv4Layer& ip_;
    UdpConfig config_;
    socket::PortManager ports_;
    UdpCounters counters_;
};

}  // namespace pollux::udp
