// DpdkPort: a DPDK ethdev as a pollux Port. Any PMD that EAL arguments bring up works: a
// real NIC by PCI address, or net_tap, net_memif, net_af_packet, net_af_xdp, virtio_user.
//
// open() configures the queues and a mempool sized from the queue depths, turns on every
// offload the port has that pollux uses (IPv4/TCP/UDP checksums on rx and tx, TSO,
// multi-segment tx, RSS when there are several queues), starts the port and waits for the
// link. The destructor stops and closes it. This file and src/runtime/ are the only
// users of rte_eth_*.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "phy/port.hpp"
#include "time/instant.hpp"

namespace pollux::phy {

struct DpdkPortConfig {
    std::uint16_t port_id = 0;
    std::uint16_t queues = 1;        // rx/tx queue pairs, one per shard
    std::uint16_t rx_desc = 1024;
    std::uint16_t tx_desc = 1024;
    std::uint16_t mtu = 0;           // 0: keep the port's
    std::uint32_t extra_mbufs = 16384;  // beyond the rings: socket queues, reassembly, ARP queues
    bool offloads = true;            // false: software checksums even when the port could
    time::Duration link_timeout = time::Duration::from_s(10);
};

class DpdkPort final : public Port {
public:
    // Null and a one-line reason (with the fix, where there is a common one) on failure.
    static std::unique_ptr<DpdkPort> open(const DpdkPortConfig& config, std::string& error);
    ~DpdkPort() override;
    DpdkPort(const DpdkPort&) = delete;
    DpdkPort& operator=(const DpdkPort&) = delete;

    std::uint16_t rx_burst(std::uint16_t queue, rte_mbuf** pkts, std::uint16_t n) noexcept override;
    std::uint16_t tx_burst(std::uint16_t queue, rte_mbuf** pkts, std::uint16_t n) noexcept override;
    wire::MacAddress mac() const noexcept override { return mac_; }
    std::uint16_t mtu() const noexcept override { return mtu_; }
    bool link_up() const noexcept override;
    const PortCapabilities& capabilities() const noexcept override { return caps_; }
    rte_mempool* pool(std::uint16_t) const noexcept override { return pool_; }

    std::uint16_t port_id() const noexcept { return port_id_; }
    const std::string& driver_name() const noexcept { return driver_; }
    // Whether chained mbufs can be sent as they are (RTE_ETH_TX_OFFLOAD_MULTI_SEGS).
    bool tx_multi_segment() const noexcept { return tx_multi_seg_; }

private:
    DpdkPort() = default;

    std::uint16_t port_id_ = 0;
    std::uint16_t queues_ = 1;
    std::uint16_t mtu_ = 1500;
    wire::MacAddress mac_;
    PortCapabilities caps_;
    bool tx_multi_seg_ = false;
    bool started_ = false;
    std::string driver_;
    rte_mempool* pool_ = nullptr;
};

}  // namespace pollux::phy
