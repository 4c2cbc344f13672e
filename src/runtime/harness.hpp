// Harness: one Shard on a QueuePort and a ManualClock, driven by the program — the engine
// behind include/pollux/harness.h, usable directly from C++ tests.
//
// The program is the network and the clock: inject() hands the stack a frame and runs
// the receive path at once; drain() returns what the stack sent, in order; advance()
// moves virtual time, stopping at every instant a timer is due so that each fires at its
// own time (never all at the end of a long jump). Everything that would be random in a
// real run (ISN secret, ephemeral port keys, IP identification, reassembly hash key) is
// derived from one seed, so the same script gives the same bytes.
//
// The IP-level pair (inject_ip/drain_ip) plays every other host of the link with one MAC:
// it wraps datagrams in Ethernet, and answers the stack's ARP requests itself.
//
// Contract: needs a running EAL and buf::PacketQueue's registered mbuf field (the C API
// starts both). One thread drives it. It does not attach the socket API; the caller does
// (runtime::attach_api with manual_clock) and detaches before destroying it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "phy/queue_port.hpp"
#include "runtime/shard.hpp"
#include "time/clock.hpp"
#include "wire/address.hpp"

struct rte_mempool;

namespace pollux::runtime {

struct HarnessConfig {
    wire::Ipv4Cidr address;
    std::optional<wire::Ipv4Address> gateway;
    wire::MacAddress mac = wire::MacAddress({0x02, 0x00, 0x00, 0x00, 0x00, 0x02});
    wire::MacAddress peer_mac = wire::MacAddress({0x02, 0x00, 0x00, 0x00, 0x00, 0x01});
    std::uint16_t mtu = 1500;
    std::uint32_t mbufs = 8191;
    time::Instant start;
    std::uint64_t seed = 0;
    // Packet buffers: null makes a pool of `mbufs` that the harness frees; a test may pass
    // its own (whose data room must hold an MTU-sized frame) to check that every mbuf
    // came back after the harness is gone.
    rte_mempool* pool = nullptr;
};

// The shard's configuration for a harness: no offloads, every secret from the seed.
ShardConfig harness_shard_config(const HarnessConfig& config);

class Harness {
public:
    // A pool whose name is unique in the process; throws std::runtime_error when DPDK has
    // no memory for it.
    explicit Harness(const HarnessConfig& config);
    ~Harness();
    Harness(const Harness&) = delete;
    Harness& operator=(const Harness&) = delete;

    // 0 or -errno (QueuePort::inject); the frame has been through the stack on return.
    int inject(std::span<const std::uint8_t> frame) noexcept;
    // QueuePort::drain / next_tx_len, after handing the port what the shard's tx buffer
    // holds: a socket call that does not send (px_recv's window update, px_shutdown's FIN)
    // leaves its frame there until the loop's next flush, which on a harness is now.
    long drain(std::span<std::uint8_t> out) noexcept {
        shard_->flush();
        return port_.drain(out);
    }
    long pending_len() noexcept {
        shard_->flush();
        return port_.next_tx_len();
    }

    int inject_ip(std::span<const std::uint8_t> datagram) noexcept;
    // The next IPv4 datagram sent (link padding trimmed), answering ARP on the way; its
    // length, -EAGAIN or -EMSGSIZE (kept).
    long drain_ip(std::span<std::uint8_t> out) noexcept;

    // Moves the clock by `d` (negative: nothing), firing timers at their instants.
    void advance(time::Duration d) noexcept;
    time::Instant now() const noexcept { return clock_.now(); }
    // When advance() would next fire a timer: the earliest deadline rounded up to the
    // wheel's tick, never before now; Instant::max() when none is armed.
    time::Instant next_event() const noexcept;

    Shard& shard() noexcept { return *shard_; }
    phy::QueuePort& port() noexcept { return port_; }
    const HarnessConfig& config() const noexcept { return config_; }

private:
    struct PoolDeleter {
        void operator()(rte_mempool* p) const noexcept;
    };

    HarnessConfig config_;
    std::unique_ptr<rte_mempool, PoolDeleter> own_pool_;  // first made, last freed
    rte_mempool* pool_;                                   // own_pool_ or the config's
    time::ManualClock clock_;
    phy::QueuePort port_;
    std::unique_ptr<Shard> shard_;
    std::vector<std::uint8_t> scratch_;  // one frame: inject_ip's framing, drain_ip's look
};

}  // namespace pollux::runtime
