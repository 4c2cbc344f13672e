#include "phy/sim_link.hpp"

#include <algorithm>
#include <cstdint>
#include <utility>

#include <rte_mbuf.h>

namespace pollux::phy {

namespace {

// True when no one else can see this chain's bytes: every segment is a direct mbuf that
// only this reference holds (an attached clone raises the direct mbuf's refcount).
bool exclusively_owned(const rte_mbuf* m) noexcept {
    for (; m != nullptr; m = m->next) {
        if (!RTE_MBUF_DIRECT(m) || rte_mbuf_refcnt_read(m) != 1) return false;
    }
    return true;
}

// A cable carries bytes, not the sender's mbuf metadata.
void clear_metadata(rte_mbuf* m) noexcept {
    m->ol_flags &= RTE_MBUF_F_INDIRECT | RTE_MBUF_F_EXTERNAL;  // these say how to free it
    m->packet_type = 0;
    m->tx_offload = 0;
    m->vlan_tci = 0;
    m->vlan_tci_outer = 0;
    m->hash.rss = 0;
}

}  // namespace

void SimLink::Direction::free_all() noexcept {
    while (count > 0) {
        rte_pktmbuf_free(at(0).frame);
        at(0).frame = nullptr;
        head = static_cast<std::uint32_t>((head + 1) % ring.size());
        --count;
    }
}

SimLink::SimLink(const time::Clock& clock, const SimLinkConfig& config)
    : clock_(clock),
      config_(config),
      ab_(std::max<std::uint32_t>(config.queue_depth, 1)),
      ba_(std::max<std::uint32_t>(config.queue_depth, 1)),
      a_(*this, ab_, ba_, config.mac_a),
      b_(*this, ba_, ab_, config.mac_b) {}

SimLink::~SimLink() {
    ab_.free_all();
    ba_.free_all();
}

std::uint16_t SimLink::Endpoint::tx_burst(std::uint16_t queue, rte_mbuf** pkts, std::uint16_t n) noexcept {
    if (queue != 0) return 0;
    const time::Instant arrives = link_.clock_.now() + link_.config_.latency;
    std::uint16_t taken = 0;
    for (; taken < n && !out_.full(); ++taken) {
        rte_mbuf* m = pkts[taken];
        out_.counters.frames += 1;
        out_.counters.bytes += m->pkt_len;
        if (!exclusively_owned(m)) {
            rte_mempool* pool = link_.config_.pool != nullptr ? link_.config_.pool : m->pool;
            rte_mbuf* copy = rte_pktmbuf_copy(m, pool, 0, UINT32_MAX);
            rte_pktmbuf_free(m);  // the sender's reference: taken either way
            if (copy == nullptr) {
                out_.counters.no_mbuf += 1;
                continue;
            }
            m = copy;
        }
        Direction::Slot& slot = out_.at(out_.count);
        slot.frame = m;
        slot.arrives = arrives;
        out_.count += 1;
    }
    out_.counters.refused += n - taken;
    return taken;
}

std::uint16_t SimLink::Endpoint::rx_burst(std::uint16_t queue, rte_mbuf** pkts, std::uint16_t n) noexcept {
    if (queue != 0) return 0;
    const time::Instant now = link_.clock_.now();
    std::uint16_t got = 0;
    while (got < n && in_.count > 0 && in_.at(0).arrives <= now) {
        rte_mbuf* m = std::exchange(in_.at(0).frame, nullptr);
        clear_metadata(m);
        pkts[got++] = m;
        in_.head = static_cast<std::uint32_t>((in_.head + 1) % in_.ring.size());
        in_.count -= 1;
    }
    in_.counters.delivered += got;
    return got;
}

}  // namespace pollux::phy
