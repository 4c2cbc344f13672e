// SimLink: two in-process Ports joined like a cable, on virtual time.
//
// What `a()` sends, `b()` receives, and the other way round; each direction is a bounded
// FIFO of frames stamped with the time they may arrive (send time + latency), so a test or
// simulation that drives a ManualClock decides when frames land. Nothing is allocated per
// frame: both queues are rings sized at construction.
//
// It behaves like a wire, not like shared memory:
// - A full direction (queue_depth frames in flight) makes tx_burst accept fewer, as a
//   NIC's tx ring does; the caller keeps the rest.
// - The receiver must be free to write into what it receives, and the sender into what it
//   kept (a retransmission's clone), so a frame whose data is shared (an indirect or
//   external-buffer segment, or a refcount above one) is copied into the link's pool on
//   send and the sender's reference freed. When that pool is empty the frame is lost and
//   counted (no_mbuf), as a receiving NIC counts rx_nombuf.
// - The receiver gets no sender metadata: offload flags, packet type and header lengths
//   are cleared on delivery. Advertised capabilities are reported only; SimLink computes
//   no checksums, segments nothing and hashes nothing, so advertise tx offloads only in
//   tests that look at the request flags.
// - Frame size is not checked against the MTU.
//
// Only queue 0 exists. One thread drives both ends; there is no locking.
#pragma once

#include <cstdint>
#include <vector>

#include "phy/port.hpp"
#include "time/clock.hpp"
#include "wire/address.hpp"

namespace pollux::phy {

struct SimLinkConfig {
    wire::MacAddress mac_a = wire::MacAddress({0x02, 0x00, 0x00, 0x00, 0x00, 0x01});
    wire::MacAddress mac_b = wire::MacAddress({0x02, 0x00, 0x00, 0x00, 0x00, 0x02});
    std::uint16_t mtu = 1500;
    time::Duration latency = time::Duration::zero();  // one way
    std::uint32_t queue_depth = 4096;                 // frames in flight, per direction
    PortCapabilities capabilities{};
    // What pool() reports (a stack on the link builds its packets from it, so set it
    // whenever one runs here), and where shared frames are copied; when null, a shared
    // frame is copied into its own pool.
    rte_mempool* pool = nullptr;
};

// One direction's counters.
struct SimLinkCounters {
    std::uint64_t frames = 0;     // taken by tx_burst
    std::uint64_t bytes = 0;      // their pkt_len, summed
    std::uint64_t delivered = 0;  // handed out by rx_burst
    std::uint64_t refused = 0;    // left with the caller because the direction was full
    std::uint64_t no_mbuf = 0;    // taken but lost: a shared frame could not be copied
};

class SimLink {
public:
    SimLink(const time::Clock& clock, const SimLinkConfig& config = {});
    // Frees the frames still in flight.
    ~SimLink();
    SimLink(const SimLink&) = delete;
    SimLink& operator=(const SimLink&) = delete;
    SimLink(SimLink&&) = delete;  // the endpoints point into the link
    SimLink& operator=(SimLink&&) = delete;

    Port& a() noexcept { return a_; }
    Port& b() noexcept { return b_; }

    const SimLinkCounters& a_to_b() const noexcept { return ab_.counters; }
    const SimLinkCounters& b_to_a() const noexcept { return ba_.counters; }
    // Frames sent and not yet received, arrived or not.
    std::uint32_t in_flight_a_to_b() const noexcept { return ab_.count; }
    std::uint32_t in_flight_b_to_a() const noexcept { return ba_.count; }
    const SimLinkConfig& config() const noexcept { return config_; }

private:
    // One direction: a ring of frames in send order, each with its arrival time. Arrival
    // times never decrease (the latency is fixed and the clock monotonic), so the head is
    // always the next to arrive.
    struct Direction {
        struct Slot {
            rte_mbuf* frame = nullptr;
            time::Instant arrives;
        };
        std::vector<Slot> ring;
        std::uint32_t head = 0;
        std::uint32_t count = 0;
        SimLinkCounters counters;

        explicit Direction(std::uint32_t depth) : ring(depth) {}
        bool full() const noexcept { return count == ring.size(); }
        Slot& at(std::uint32_t i) noexcept { return ring[(head + i) % ring.size()]; }
        void free_all() noexcept;
    };

    class Endpoint final : public Port {
    public:
        Endpoint(SimLink& link, Direction& out, Direction& in, wire::MacAddress mac) noexcept
            : link_(link), out_(out), in_(in), mac_(mac) {}

        std::uint16_t rx_burst(std::uint16_t queue, rte_mbuf** pkts, std::uint16_t n) noexcept override;
        std::uint16_t tx_burst(std::uint16_t queue, rte_mbuf** pkts, std::uint16_t n) noexcept override;
        wire::MacAddress mac() const noexcept override { return mac_; }
        std::uint16_t mtu() const noexcept override { return link_.config_.mtu; }
        bool link_up() const noexcept override { return true; }
        const PortCapabilities& capabilities() const noexcept override { return link_.config_.capabilities; }
        rte_mempool* pool(std::uint16_t) const noexcept override { return link_.config_.pool; }

    private:
        SimLink& link_;
        Direction& out_;
        Direction& in_;
        wire::MacAddress mac_;
    };

    const time::Clock& clock_;
    SimLinkConfig config_;
    Direction ab_;
    Direction ba_;
    Endpoint a_;
    Endpoint b_;
};

}  // namespace pollux::phy
