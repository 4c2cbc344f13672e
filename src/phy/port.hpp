// Port: one link of a shard, seen as queues of rte_mbuf bursts. DpdkPort is a real (or
// virtual) DPDK ethdev; SimLink joins two in-process ports on virtual time; ImpairedPort
// wraps any port with seeded loss/reorder/duplicate/delay/corrupt.
//
// Ownership follows rte_eth_*_burst: rx_burst hands the caller the mbufs it returns;
// tx_burst takes the first `n'` it accepts (its return value) and leaves the rest with the
// caller, who must free or retry them.
#pragma once

#include <cstdint>

#include "wire/address.hpp"

struct rte_mbuf;
struct rte_mempool;

namespace pollux::phy {

// What a port does in hardware, as DPDK reports it; the stack only requests an offload
// that the port has.
struct PortCapabilities {
    bool rx_ipv4_checksum = false;  // verifies IPv4 header checksums (RTE_MBUF_F_RX_IP_CKSUM_*)
    bool rx_l4_checksum = false;    // verifies TCP/UDP checksums (RTE_MBUF_F_RX_L4_CKSUM_*)
    bool tx_ipv4_checksum = false;
    bool tx_tcp_checksum = false;
    bool tx_udp_checksum = false;
    bool tso = false;
    bool rss = false;
    bool operator==(const PortCapabilities&) const noexcept = default;
};

class Port {
public:
    virtual ~Port() = default;

    virtual std::uint16_t rx_burst(std::uint16_t queue, rte_mbuf** pkts, std::uint16_t n) noexcept = 0;
    virtual std::uint16_t tx_burst(std::uint16_t queue, rte_mbuf** pkts, std::uint16_t n) noexcept = 0;

    virtual wire::MacAddress mac() const noexcept = 0;
    // The IP MTU (payload of an Ethernet frame), e.g. 1500.
    virtual std::uint16_t mtu() const noexcept = 0;
    virtual bool link_up() const noexcept = 0;
    virtual const PortCapabilities& capabilities() const noexcept = 0;
    // The pool this port's `queue` allocates received mbufs from; the stack builds
    // outgoing packets from the same pool.
    virtual rte_mempool* pool(std::uint16_t queue) const noexcept = 0;
};

}  // namespace pollux::phy
