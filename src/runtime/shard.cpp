#include "runtime/shard.hpp"

#include <rte_mbuf.h>

#include <stdexcept>

namespace pollux::runtime {

namespace {
std::unique_ptr<phy::ImpairedPort> make_impaired(phy::Port& port, const time::Clock& clock,
                                                 const ShardConfig& config) {
    if (!config.impair || !config.impair->impairs()) return nullptr;
    return std::make_unique<phy::ImpairedPort>(port, clock, *config.impair, config.queue);
}

// The shard builds ARP, ICMP and fragment headers from the port's pool; a port without one
// (a SimLink left at its default config) would crash at the first allocation.
// The MSS we announce is the interface MTU less the IPv4 and TCP headers (RFC 9293 §3.7.1).
tcp::TcpLayerConfig tcp_config(const ShardConfig& config) {
    tcp::TcpLayerConfig c = config.tcp;
    c.tcb.mss = static_cast<std::uint16_t>(config.interface.mtu - 40);
    return c;
}

rte_mempool* required_pool(const phy::Port& port, std::uint16_t queue) {
    rte_mempool* pool = port.pool(queue);
    if (pool == nullptr) throw std::invalid_argument("Shard: the port has no mbuf pool for its queue");
    return pool;
}
}  // namespace

Shard::Shard(phy::Port& port, const time::Clock& clock, const ShardConfig& config)
    : clock_(clock),
      queue_(config.queue),
      impaired_(make_impaired(port, clock, config)),
      port_(impaired_ ? static_cast<phy::Port&>(*impaired_) : port),
      tx_(port_, config.queue),
      iface_(config.interface, tx_, required_pool(port, config.queue)),
      ip_(iface_, config.ipv4),
      udp_(ip_, config.udp),
      raw_(ip_),
      wheel_(clock.now()),
      tcp_(ip_, wheel_, clock, tcp_config(config)),
      housekeeping_timer_(&Shard::housekeeping, this) {}

Shard::~Shard() {
    wheel_.cancel(housekeeping_timer_);
    tx_.flush();
}

void Shard::start() noexcept {
    iface_.start();
    wheel_.arm(housekeeping_timer_, clock_.now() + housekeeping_period);
    tx_.flush();
}

void Shard::housekeeping(time::Timer& timer, time::Instant now, void* self) noexcept {
    auto* s = static_cast<Shard*>(self);
    s->iface_.on_timer(now);
    s->ip_.on_timer(now);
    s->wheel_.arm(timer, now + housekeeping_period);
}

std::uint16_t Shard::poll_once() noexcept {
    counters_.loops.add();
    std::array<rte_mbuf*, rx_burst_size> pkts;
    const std::uint16_t n = port_.rx_burst(queue_, pkts.data(), rx_burst_size);
    const time::Instant now = clock_.now();
    if (n > 0) {
        counters_.rx_bursts.add();
        for (std::uint16_t i = 0; i < n; ++i) {
            // Warm the next frame's header while this one is processed.
            if (i + 1 < n) rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void*));
            iface_.ingress(buf::PacketBuf(pkts[i]), now);
        }
    }
    run_loopback(now);
    counters_.timers_fired.add(wheel_.advance(now));
    if (impaired_) impaired_->poll();
    tx_.flush();
    return n;
}

void Shard::run_loopback(time::Instant now) noexcept {
    // Each round delivers what the previous one queued (a reply, an ICMP error); the bound
    // keeps two sockets that echo to each other from holding the loop forever.
    constexpr int max_rounds = 8;
    for (int i = 0; i < max_rounds && ip_.process_loopback(now) > 0; ++i) {
    }
}

}  // namespace pollux::runtime
