// ImpairedPort: a Port that does to the frames sent through it what a bad network would:
// loss, duplication, bit corruption, reordering, delay with jitter and a rate limit, all
// drawn from a seeded PRNG so that a failing run replays exactly from its seed.
//
// Only the transmit direction is impaired; rx_burst and the port's properties pass straight
// to the wrapped port. Wrapping both ends of a SimLink impairs both directions; against a
// kernel peer, impair the kernel's side with tc netem.
//
// Only the queue given at construction is impaired (one ImpairedPort per shard's queue;
// it has no locks); tx_burst on any other queue passes through untouched.
//
// What happens to each frame tx_burst takes, in this order:
//   1. loss: freed (counted `lost`).
//   2. duplicate: a full copy (rte_pktmbuf_copy into the frame's own pool) is made, so the
//      two share no bytes; the copy then goes through steps 3-5 on its own.
//   3. corrupt: one random bit of one random byte is flipped, in a private copy when the
//      frame's bytes are shared (a clone, an external buffer, a refcount above one).
//   4. reorder: the frame is held back until the next frame has been queued, then queued
//      right behind it, so the two arrive swapped; one frame is held back at a time. A
//      held-back frame with no successor within `reorder_hold` is queued as it is.
//   5. queue: the frame waits in a bounded FIFO until its release time: now + delay +
//      a uniform draw in [-jitter, +jitter] (never before now), then, with a rate, after
//      the frames ahead of it and its own serialisation time (pkt_len * 8 / rate, no
//      preamble or FCS counted), as tc's tbf/netem rate do. Release times are made
//      non-decreasing, so jitter alone never reorders (netem's jitter can; here reordering
//      is step 4's alone). A full queue drops the frame (`queue_drops`).
//
// tx_burst always takes all `n` frames (like netem, it drops rather than pushes back).
// Frames leave for the wrapped port when they are due, from tx_burst and from poll(): the
// runtime must call poll() once per loop iteration, or delayed frames stay queued while
// nothing new is sent. A frame the wrapped port refuses stays at the head of the queue and
// is offered again on the next call. The destructor frees every frame still held.
#pragma once

#include <cstdint>
#include <vector>

#include "phy/impairment.hpp"
#include "phy/port.hpp"
#include "time/clock.hpp"

namespace pollux::phy {

struct ImpairmentCounters {
    std::uint64_t sent = 0;           // taken by the wrapped port (duplicates included)
    std::uint64_t lost = 0;           // freed by `loss`
    std::uint64_t duplicated = 0;     // extra copies made
    std::uint64_t corrupted = 0;      // frames with a bit flipped
    std::uint64_t reordered = 0;      // frames overtaken by the frame after them
    std::uint64_t delayed = 0;        // frames queued with a release time after their send time
    std::uint64_t queue_drops = 0;    // freed because the queue was full
    std::uint64_t copy_failures = 0;  // a duplicate or a private copy found its pool empty
};

class ImpairedPort final : public Port {
public:
    static constexpr std::uint32_t default_queue_limit = 1000;  // netem's default `limit`
    static constexpr time::Duration reorder_hold = time::Duration::from_ms(1);

    // `inner` and `clock` must outlive this port. `queue_limit` bounds the frames waiting in
    // step 5 (at least 1); the queue is allocated here, never per frame.
    ImpairedPort(Port& inner, const time::Clock& clock, const ImpairmentConfig& tx_config,
                 std::uint16_t queue = 0, std::uint32_t queue_limit = default_queue_limit);
    ~ImpairedPort() override;
    ImpairedPort(const ImpairedPort&) = delete;
    ImpairedPort& operator=(const ImpairedPort&) = delete;

    std::uint16_t rx_burst(std::uint16_t queue, rte_mbuf** pkts, std::uint16_t n) noexcept override;
    std::uint16_t tx_burst(std::uint16_t queue, rte_mbuf** pkts, std::uint16_t n) noexcept override;
    wire::MacAddress mac() const noexcept override { return inner_.mac(); }
    std::uint16_t mtu() const noexcept override { return inner_.mtu(); }
    bool link_up() const noexcept override { return inner_.link_up(); }
    const PortCapabilities& capabilities() const noexcept override { return inner_.capabilities(); }
    rte_mempool* pool(std::uint16_t queue) const noexcept override { return inner_.pool(queue); }

    // Hands the frames that are due to the wrapped port. Call once per loop iteration.
    void poll() noexcept;

    const ImpairmentCounters& counters() const noexcept { return counters_; }
    const ImpairmentConfig& config() const noexcept { return config_; }
    // Frames held: queued, plus one held back for reordering.
    std::uint32_t held() const noexcept { return count_ + (held_back_ != nullptr ? 1u : 0u); }

private:
    // xoshiro256** (Blackman and Vigna), seeded through splitmix64 so that any seed,
    // zero included, gives a well-mixed state. Small, fast and the same on every platform,
    // which std::uniform_*_distribution is not.
    class Rng {
    public:
        explicit Rng(std::uint64_t seed) noexcept;
        std::uint64_t next() noexcept;
        // Uniform in [0, 1), from the top 53 bits.
        double uniform() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
        // Uniform in [0, n), n > 0 (the modulo bias is below 2^-40 for the n used here).
        std::uint64_t below(std::uint64_t n) noexcept { return next() % n; }
        // True with probability p; draws nothing when p is 0, so a config that never
        // impairs by one kind leaves the others' sequence unchanged.
        bool chance(double p) noexcept { return p > 0.0 && uniform() < p; }

    private:
        std::uint64_t s_[4];
    };

    struct Slot {
        rte_mbuf* frame = nullptr;
        time::Instant release;
    };

    void pass(rte_mbuf* m, time::Instant now) noexcept;
    rte_mbuf* corrupt(rte_mbuf* m) noexcept;
    void enqueue(rte_mbuf* m, time::Instant now) noexcept;
    void release_held_back_if_stale(time::Instant now) noexcept;
    void release_due(time::Instant now) noexcept;
    Slot& at(std::uint32_t i) noexcept { return ring_[(head_ + i) % ring_.size()]; }

    Port& inner_;
    const time::Clock& clock_;
    ImpairmentConfig config_;
    std::uint16_t queue_;
    Rng rng_;

    std::vector<Slot> ring_;  // step 5's FIFO
    std::uint32_t head_ = 0;
    std::uint32_t count_ = 0;
    time::Instant last_release_;  // release times never decrease
    time::Instant link_free_at_;  // when the rate-limited link finishes the last frame

    rte_mbuf* held_back_ = nullptr;  // step 4
    time::Instant held_back_until_;

    ImpairmentCounters counters_;
};

}  // namespace pollux::phy
