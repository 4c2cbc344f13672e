#include "phy/queue_port.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <rte_mbuf.h>

namespace pollux::phy {

namespace {

// The largest frame inject() takes: the largest IPv4 datagram plus an Ethernet header.
constexpr std::size_t max_frame_len = 65535 + 14;

// Copies `frame` into a chain of mbufs from `pool`, or null when the pool runs dry.
rte_mbuf* copy_into_chain(std::span<const std::uint8_t> frame, rte_mempool* pool) noexcept {
    rte_mbuf* head = nullptr;
    rte_mbuf* tail = nullptr;
    std::size_t done = 0;
    while (done < frame.size()) {
        rte_mbuf* m = rte_pktmbuf_alloc(pool);
        if (m == nullptr) {
            rte_pktmbuf_free(head);
            return nullptr;
        }
        // The head keeps its headroom, as a NIC's rx mbuf does; later segments use it all.
        if (head != nullptr) m->data_off = 0;
        const std::size_t n = std::min<std::size_t>(frame.size() - done, rte_pktmbuf_tailroom(m));
        std::memcpy(rte_pktmbuf_mtod(m, std::uint8_t*), frame.data() + done, n);
        m->data_len = static_cast<std::uint16_t>(n);
        done += n;
        if (head == nullptr) {
            head = m;
        } else {
            tail->next = m;
            head->nb_segs = static_cast<std::uint16_t>(head->nb_segs + 1);
        }
        tail = m;
    }
    head->pkt_len = static_cast<std::uint32_t>(frame.size());
    return head;
}

void free_all(std::deque<rte_mbuf*>& q) noexcept {
    for (rte_mbuf* m : q) rte_pktmbuf_free(m);
    q.clear();
}

}  // namespace

QueuePort::~QueuePort() {
    free_all(rx_);
    free_all(tx_);
}

int QueuePort::inject(std::span<const std::uint8_t> frame) noexcept {
    if (frame.empty() || frame.size() > max_frame_len) return -EINVAL;
    rte_mbuf* m = copy_into_chain(frame, config_.pool);
    if (m == nullptr) return -ENOBUFS;
    try {
        rx_.push_back(m);
    } catch (...) {
        rte_pktmbuf_free(m);
        return -ENOBUFS;
    }
    return 0;
}

long QueuePort::next_tx_len() const noexcept {
    if (tx_.empty()) return -EAGAIN;
    return static_cast<long>(tx_.front()->pkt_len);
}

long QueuePort::copy_next(std::span<std::uint8_t> out) const noexcept {
    if (tx_.empty()) return -EAGAIN;
    const rte_mbuf* m = tx_.front();
    if (out.size() < m->pkt_len) return -EMSGSIZE;
    std::size_t at = 0;
    for (const rte_mbuf* s = m; s != nullptr; s = s->next) {
        std::memcpy(out.data() + at, rte_pktmbuf_mtod(s, const std::uint8_t*), s->data_len);
        at += s->data_len;
    }
    return static_cast<long>(at);
}

long QueuePort::drain(std::span<std::uint8_t> out) noexcept {
    const long n = copy_next(out);
    if (n >= 0) discard();
    return n;
}

bool QueuePort::discard() noexcept {
    if (tx_.empty()) return false;
    rte_pktmbuf_free(tx_.front());
    tx_.pop_front();
    return true;
}

std::uint16_t QueuePort::rx_burst(std::uint16_t queue, rte_mbuf** pkts, std::uint16_t n) noexcept {
    if (queue != 0) return 0;
    std::uint16_t got = 0;
    while (got < n && !rx_.empty()) {
        pkts[got++] = rx_.front();
        rx_.pop_front();
    }
    return got;
}

std::uint16_t QueuePort::tx_burst(std::uint16_t queue, rte_mbuf** pkts, std::uint16_t n) noexcept {
    if (queue != 0) return 0;
    std::uint16_t taken = 0;
    try {
        for (; taken < n; ++taken) tx_.push_back(pkts[taken]);
    } catch (...) {
        // No memory for the queue: the rest stays with the caller, as a full tx ring would.
    }
    return taken;
}

}  // namespace pollux::phy
