#include "phy/impaired_port.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <utility>

#include <rte_mbuf.h>

namespace pollux::phy {

namespace {

// The most frames handed to the wrapped port in one call.
constexpr std::uint16_t release_burst = 32;

// True when no one else can see this chain's bytes (see SimLink): every segment direct and
// held only by this reference.
bool exclusively_owned(const rte_mbuf* m) noexcept {
    for (; m != nullptr; m = m->next) {
        if (!RTE_MBUF_DIRECT(m) || rte_mbuf_refcnt_read(m) != 1) return false;
    }
    return true;
}

std::uint64_t rotl(std::uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }

}  // namespace

ImpairedPort::Rng::Rng(std::uint64_t seed) noexcept {
    // splitmix64 fills the state: never all zero, which xoshiro could not leave.
    for (std::uint64_t& s : s_) {
        seed += 0x9e3779b97f4a7c15ULL;
        std::uint64_t z = seed;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        s = z ^ (z >> 31);
    }
}

std::uint64_t ImpairedPort::Rng::next() noexcept {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
}

ImpairedPort::ImpairedPort(Port& inner, const time::Clock& clock, const ImpairmentConfig& tx_config,
                           std::uint16_t queue, std::uint32_t queue_limit)
    : inner_(inner),
      clock_(clock),
      config_(tx_config),
      queue_(queue),
      rng_(tx_config.seed),
      ring_(std::max<std::uint32_t>(queue_limit, 1)) {}

ImpairedPort::~ImpairedPort() {
    if (held_back_ != nullptr) rte_pktmbuf_free(held_back_);
    for (std::uint32_t i = 0; i < count_; ++i) rte_pktmbuf_free(at(i).frame);
}

std::uint16_t ImpairedPort::rx_burst(std::uint16_t queue, rte_mbuf** pkts, std::uint16_t n) noexcept {
    return inner_.rx_burst(queue, pkts, n);
}

std::uint16_t ImpairedPort::tx_burst(std::uint16_t queue, rte_mbuf** pkts, std::uint16_t n) noexcept {
    if (queue != queue_) return inner_.tx_burst(queue, pkts, n);
    const time::Instant now = clock_.now();
    // A stale held-back frame was sent before this burst: it goes ahead of it.
    release_held_back_if_stale(now);
    for (std::uint16_t i = 0; i < n; ++i) {
        rte_mbuf* m = pkts[i];
        if (rng_.chance(config_.loss)) {
            rte_pktmbuf_free(m);
            counters_.lost += 1;
            continue;
        }
        rte_mbuf* dup = nullptr;
        if (rng_.chance(config_.duplicate)) {
            dup = rte_pktmbuf_copy(m, m->pool, 0, UINT32_MAX);
            if (dup != nullptr) {
                counters_.duplicated += 1;
            } else {
                counters_.copy_failures += 1;
            }
        }
        pass(m, now);
        if (dup != nullptr) pass(dup, now);
    }
    release_due(now);
    return n;
}

void ImpairedPort::poll() noexcept {
    const time::Instant now = clock_.now();
    release_held_back_if_stale(now);
    release_due(now);
}

// Steps 3 and 4 for one frame that survived loss.
void ImpairedPort::pass(rte_mbuf* m, time::Instant now) noexcept {
    if (rng_.chance(config_.corrupt)) m = corrupt(m);
    if (held_back_ == nullptr && rng_.chance(config_.reorder)) {
        held_back_ = m;
        held_back_until_ = now + reorder_hold;
        return;
    }
    enqueue(m, now);
    if (held_back_ != nullptr) {
        enqueue(std::exchange(held_back_, nullptr), now);
        counters_.reordered += 1;
    }
}

rte_mbuf* ImpairedPort::corrupt(rte_mbuf* m) noexcept {
    if (m->pkt_len == 0) return m;
    if (!exclusively_owned(m)) {
        // Someone else sees these bytes (a retransmission's clone): corrupt only ours.
        rte_mbuf* copy = rte_pktmbuf_copy(m, m->pool, 0, UINT32_MAX);
        if (copy == nullptr) {
            counters_.copy_failures += 1;
            return m;
        }
        rte_pktmbuf_free(m);
        m = copy;
    }
    std::uint32_t offset = static_cast<std::uint32_t>(rng_.below(m->pkt_len));
    const auto bit = static_cast<std::uint8_t>(1u << rng_.below(8));
    rte_mbuf* seg = m;
    while (offset >= seg->data_len) {
        offset -= seg->data_len;
        seg = seg->next;
    }
    rte_pktmbuf_mtod(seg, std::uint8_t*)[offset] ^= bit;
    counters_.corrupted += 1;
    return m;
}

// Step 5: the frame's release time, then the FIFO (or a drop when it is full).
void ImpairedPort::enqueue(rte_mbuf* m, time::Instant now) noexcept {
    if (count_ == ring_.size()) {
        rte_pktmbuf_free(m);
        counters_.queue_drops += 1;
        return;
    }
    time::Instant release = now + config_.delay;
    if (config_.jitter > time::Duration::zero()) {
        const std::int64_t j = config_.jitter.ns();
        const auto draw = static_cast<std::int64_t>(rng_.below(2 * static_cast<std::uint64_t>(j) + 1));
        release = release + time::Duration::from_ns(draw - j);
    }
    release = std::max(release, now);
    if (config_.rate_bps > 0) {
        // Serialisation starts when the frame is ready and the link has finished the one
        // before; the frame is out when its last bit is.
        const double bits = static_cast<double>(m->pkt_len) * 8.0;
        const auto wire_ns = static_cast<std::int64_t>(std::ceil(bits * 1e9 / static_cast<double>(config_.rate_bps)));
        link_free_at_ = std::max(release, link_free_at_) + time::Duration::from_ns(wire_ns);
        release = link_free_at_;
    }
    release = std::max(release, last_release_);
    last_release_ = release;
    if (release > now) counters_.delayed += 1;

    Slot& slot = at(count_);
    slot.frame = m;
    slot.release = release;
    count_ += 1;
}

void ImpairedPort::release_held_back_if_stale(time::Instant now) noexcept {
    if (held_back_ != nullptr && now >= held_back_until_) enqueue(std::exchange(held_back_, nullptr), now);
}

void ImpairedPort::release_due(time::Instant now) noexcept {
    rte_mbuf* burst[release_burst];
    while (count_ > 0) {
        std::uint16_t k = 0;
        while (k < release_burst && k < count_ && at(k).release <= now) {
            burst[k] = at(k).frame;
            ++k;
        }
        if (k == 0) return;
        const std::uint16_t taken = inner_.tx_burst(queue_, burst, k);
        for (std::uint16_t i = 0; i < taken; ++i) at(i).frame = nullptr;
        head_ = static_cast<std::uint32_t>((head_ + taken) % ring_.size());
        count_ -= taken;
        counters_.sent += taken;
        if (taken < k) return;  // the wrapped port is full: the rest wait for the next call
    }
}

}  // namespace pollux::phy
