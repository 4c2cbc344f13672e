// Shard: one lcore's stack (DESIGN.md §2). It owns one queue pair of the port, the
// interface and IPv4 state, a timer wheel and the tx burst buffer; shards share nothing.
// poll_once() is one iteration of the loop that replaces IRQ + NAPI:
//     rx burst -> ingress each frame -> loopback -> timers -> impairment release -> tx flush.
//
// Contract: every member is touched only by the thread running poll_once(), except the
// counters, which any thread may read (stats::Counter).
#pragma once

#include <array>
#include <cstdint>
#include <memory>

#include "iface/interface.hpp"
#include "ip/ipv4_layer.hpp"
#include "phy/impaired_port.hpp"
#include "phy/port.hpp"
#include "runtime/tx_buffer.hpp"
#include "stats/counter.hpp"
#include "time/clock.hpp"
#include "time/timer_wheel.hpp"
#include "raw/raw_layer.hpp"
#include "tcp/tcp_layer.hpp"
#include "udp/udp_layer.hpp"

namespace pollux::runtime {

struct ShardConfig {
    std::uint16_t queue = 0;
    iface::InterfaceConfig interface;
    ip::Ipv4Config ipv4;
    udp::UdpConfig udp;
    tcp::TcpLayerConfig tcp;  // the announced MSS is set from the interface MTU
    std::optional<phy::ImpairmentConfig> impair;  // wraps the port's transmit side
};

struct ShardCounters {
    stats::Counter loops;
    stats::Counter rx_bursts;  // iterations that received at least one frame
    stats::Counter timers_fired;

    template <typename F>
    void visit(F&& f) const {
        f("loops", loops);
        f("rx_bursts", rx_bursts);
        f("timers_fired", timers_fired);
    }
};

class Shard {
public:
    static constexpr std::uint16_t rx_burst_size = 32;
    // How often ARP retries/aging and reassembly timeouts run.
    static constexpr time::Duration housekeeping_period = time::Duration::from_ms(100);

    Shard(phy::Port& port, const time::Clock& clock, const ShardConfig& config);
    ~Shard();
    Shard(const Shard&) = delete;
    Shard& operator=(const Shard&) = delete;

    // Announces our address (gratuitous ARP) and starts the housekeeping timer.
    void start() noexcept;
    // One loop iteration; returns the number of frames received.
    std::uint16_t poll_once() noexcept;
    // Delivers what the stack sent to itself (127/8, our address), including the replies
    // and errors that delivery produces, a bounded number of rounds. The socket API runs it
    // after each send, as Linux runs the loopback softirq before sendto() returns.
    void run_loopback(time::Instant now) noexcept;
    // Hands queued frames to the port now rather than at the end of the next iteration.
    void flush() noexcept { tx_.flush(); }

    iface::Interface& interface() noexcept { return iface_; }
    ip::Ipv4Layer& ipv4() noexcept { return ip_; }
    udp::UdpLayer& udp() noexcept { return udp_; }
    raw::RawLayer& raw() noexcept { return raw_; }
    tcp::TcpLayer& tcp() noexcept { return tcp_; }
    time::TimerWheel& timers() noexcept { return wheel_; }
    const time::Clock& clock() const noexcept { return clock_; }
    const phy::ImpairedPort* impaired_port() const noexcept { return impaired_.get(); }

    // Calls f(name, value) for every counter of every layer, names like "ip.InReceives".
    template <typename F>
    void visit_counters(F&& f) const {
        const auto with = [&f](const char* prefix) {
            return [&f, prefix](const char* name, const stats::Counter& c) { f(prefix, name, c.get()); };
        };
        counters_.visit(with("shard"));
        iface_.counters().visit(with("link"));
        iface_.arp().counters().visit(with("arp"));
        ip_.counters().visit(with("ip"));
        ip_.reassembly_counters().visit(with("reasm"));
        ip_.icmp().counters().visit(with("icmp"));
        udp_.counters().visit(with("udp"));
        raw_.counters().visit(with("raw"));
        tcp_.counters().visit(with("tcp"));
        f("tx", "dropped_ring_full", tx_.dropped().get());
    }

private:
    static void housekeeping(time::Timer& timer, time::Instant now, void* self) noexcept;

    const time::Clock& clock_;
    std::uint16_t queue_;
    std::unique_ptr<phy::ImpairedPort> impaired_;
    phy::Port& port_;  // the impaired wrapper when there is one
    TxBuffer tx_;
    iface::Interface iface_;
    ip::Ipv4Layer ip_;
    udp::UdpLayer udp_;
    raw::RawLayer raw_;  // after ip_: destroyed first
    time::TimerWheel wheel_;
    tcp::TcpLayer tcp_;  // after wheel_: its sockets' timers live on it
    time::Timer housekeeping_timer_;
    ShardCounters counters_;
};

}  // namespace pollux::runtime
