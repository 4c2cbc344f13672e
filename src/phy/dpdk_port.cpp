#include "phy/dpdk_port.hpp"

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include <algorithm>
#include <bit>
#include <cstdio>
#include <cstring>

namespace pollux::phy {

namespace {

std::string errno_text(int rc) { return std::strerror(rc < 0 ? -rc : rc); }

// Mempools hold 2^n - 1 mbufs most efficiently (rte_mempool's ring).
std::uint32_t pool_size(const DpdkPortConfig& c) {
    const std::uint32_t want = static_cast<std::uint32_t>(c.queues) * (c.rx_desc + c.tx_desc) * 2 + c.extra_mbufs;
    return std::bit_ceil(want) - 1;
}

}  // namespace

std::unique_ptr<DpdkPort> DpdkPort::open(const DpdkPortConfig& config, std::string& error) {
    const std::uint16_t id = config.port_id;
    if (rte_eth_dev_count_avail() == 0) {
        error = "no DPDK port: name one with EAL arguments, e.g. --vdev=net_tap0,iface=pxt0 or -a 0000:01:00.0";
        return nullptr;
    }
    if (!rte_eth_dev_is_valid_port(id)) {
        error = "port " + std::to_string(id) + " does not exist (" + std::to_string(rte_eth_dev_count_avail()) +
                " available)";
        return nullptr;
    }
    std::unique_ptr<DpdkPort> p(new DpdkPort());
    p->port_id_ = id;
    p->queues_ = config.queues;

    rte_eth_dev_info info{};
    if (const int rc = rte_eth_dev_info_get(id, &info); rc != 0) {
        error = "rte_eth_dev_info_get: " + errno_text(rc);
        return nullptr;
    }
    p->driver_ = info.driver_name != nullptr ? info.driver_name : "?";
    if (config.queues > info.max_rx_queues || config.queues > info.max_tx_queues) {
        error = "port " + std::to_string(id) + " (" + p->driver_ + ") has at most " +
                std::to_string(std::min(info.max_rx_queues, info.max_tx_queues)) + " queue pairs";
        return nullptr;
    }

    rte_eth_conf conf{};
    const std::uint64_t rx_capa = info.rx_offload_capa;
    const std::uint64_t tx_capa = info.tx_offload_capa;
    if (config.offloads) {
        PortCapabilities& c = p->caps_;
        c.rx_ipv4_checksum = (rx_capa & RTE_ETH_RX_OFFLOAD_IPV4_CKSUM) != 0;
        c.rx_l4_checksum = (rx_capa & RTE_ETH_RX_OFFLOAD_TCP_CKSUM) && (rx_capa & RTE_ETH_RX_OFFLOAD_UDP_CKSUM);
        c.tx_ipv4_checksum = (tx_capa & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM) != 0;
        c.tx_tcp_checksum = (tx_capa & RTE_ETH_TX_OFFLOAD_TCP_CKSUM) != 0;
        c.tx_udp_checksum = (tx_capa & RTE_ETH_TX_OFFLOAD_UDP_CKSUM) != 0;
        c.tso = c.tx_tcp_checksum && (tx_capa & RTE_ETH_TX_OFFLOAD_TCP_TSO) != 0;
        if (c.rx_ipv4_checksum) conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_IPV4_CKSUM;
        if (c.rx_l4_checksum) conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_TCP_CKSUM | RTE_ETH_RX_OFFLOAD_UDP_CKSUM;
        if (c.tx_ipv4_checksum) conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_IPV4_CKSUM;
        if (c.tx_tcp_checksum) conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_TCP_CKSUM;
        if (c.tx_udp_checksum) conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_UDP_CKSUM;
        if (c.tso) conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_TCP_TSO;
    }
    // Reassembled datagrams (a fragmented ping's reply) are mbuf chains.
    p->tx_multi_seg_ = (tx_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS) != 0;
    if (p->tx_multi_seg_) conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
    // RSS spreads flows over the shards' queues when there are several.
    if (config.queues > 1 && info.flow_type_rss_offloads != 0) {
        conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
        conf.rx_adv_conf.rss_conf.rss_hf =
            info.flow_type_rss_offloads & (RTE_ETH_RSS_IPV4 | RTE_ETH_RSS_NONFRAG_IPV4_TCP | RTE_ETH_RSS_NONFRAG_IPV4_UDP);
        p->caps_.rss = conf.rx_adv_conf.rss_conf.rss_hf != 0;
    }

    if (const int rc = rte_eth_dev_configure(id, config.queues, config.queues, &conf); rc != 0) {
        error = "rte_eth_dev_configure(port " + std::to_string(id) + "): " + errno_text(rc);
        return nullptr;
    }
    std::uint16_t rx_desc = config.rx_desc;
    std::uint16_t tx_desc = config.tx_desc;
    rte_eth_dev_adjust_nb_rx_tx_desc(id, &rx_desc, &tx_desc);

    const int socket = rte_eth_dev_socket_id(id) >= 0 ? rte_eth_dev_socket_id(id) : static_cast<int>(rte_socket_id());
    const std::string pool_name = "pollux_p" + std::to_string(id);
    p->pool_ = rte_pktmbuf_pool_create(pool_name.c_str(), pool_size(config), 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                       socket);
    if (p->pool_ == nullptr) {
        error = "cannot create the mbuf pool (" + std::string(rte_strerror(rte_errno)) +
                "): reserve hugepages (echo 512 > /proc/sys/vm/nr_hugepages) or pass --no-huge -m 512";
        return nullptr;
    }
    for (std::uint16_t q = 0; q < config.queues; ++q) {
        rte_eth_rxconf rxconf = info.default_rxconf;
        rxconf.offloads = conf.rxmode.offloads;
        if (const int rc = rte_eth_rx_queue_setup(id, q, rx_desc, socket, &rxconf, p->pool_); rc != 0) {
            error = "rte_eth_rx_queue_setup: " + errno_text(rc);
            return nullptr;
        }
        rte_eth_txconf txconf = info.default_txconf;
        txconf.offloads = conf.txmode.offloads;
        if (const int rc = rte_eth_tx_queue_setup(id, q, tx_desc, socket, &txconf); rc != 0) {
            error = "rte_eth_tx_queue_setup: " + errno_text(rc);
            return nullptr;
        }
    }
    if (config.mtu != 0) {
        if (const int rc = rte_eth_dev_set_mtu(id, config.mtu); rc != 0) {
            error = "cannot set MTU " + std::to_string(config.mtu) + " on port " + std::to_string(id) + ": " +
                    errno_text(rc);
            return nullptr;
        }
    }
    if (const int rc = rte_eth_dev_start(id); rc != 0) {
        error = "rte_eth_dev_start(port " + std::to_string(id) + "): " + errno_text(rc);
        return nullptr;
    }
    p->started_ = true;
    std::uint16_t mtu = 1500;
    if (rte_eth_dev_get_mtu(id, &mtu) == 0) p->mtu_ = mtu;
    rte_ether_addr mac{};
    rte_eth_macaddr_get(id, &mac);
    p->mac_ = wire::MacAddress::from_bytes(mac.addr_bytes);

    // Wait for the link; virtual ports are up at once, a NIC may take seconds.
    const std::uint64_t deadline = rte_get_timer_cycles() + static_cast<std::uint64_t>(config.link_timeout.ms()) *
                                                                 rte_get_timer_hz() / 1000;
    while (!p->link_up() && rte_get_timer_cycles() < deadline) rte_delay_ms(50);
    if (!p->link_up()) {
        error = "port " + std::to_string(id) + " (" + p->driver_ + "): link down after " +
                std::to_string(config.link_timeout.ms() / 1000) + " s (cable? peer?)";
        return nullptr;
    }
    return p;
}

DpdkPort::~DpdkPort() {
    if (started_) {
        rte_eth_dev_stop(port_id_);
        rte_eth_dev_close(port_id_);
    }
    // The rings' mbufs went back to the pool with the close; whatever the stack still held
    // was freed before this destructor ran (the runtime tears the shard down first), so
    // anything still out is a leak: say so (the interop tests look for this line).
    if (pool_ != nullptr) {
        if (const unsigned out = rte_mempool_in_use_count(pool_); out != 0) {
            std::fprintf(stderr, "pollux: %u mbufs leaked (not returned to the pool at exit)\n", out);
        }
        rte_mempool_free(pool_);
    }
}

bool DpdkPort::link_up() const noexcept {
    rte_eth_link link{};
    if (rte_eth_link_get_nowait(port_id_, &link) != 0) return false;
    return link.link_status == RTE_ETH_LINK_UP;
}

std::uint16_t DpdkPort::rx_burst(std::uint16_t queue, rte_mbuf** pkts, std::uint16_t n) noexcept {
    return rte_eth_rx_burst(port_id_, queue, pkts, n);
}

std::uint16_t DpdkPort::tx_burst(std::uint16_t queue, rte_mbuf** pkts, std::uint16_t n) noexcept {
    return rte_eth_tx_burst(port_id_, queue, pkts, n);
}

}  // namespace pollux::phy
