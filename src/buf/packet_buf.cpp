#include "buf/packet_buf.hpp"

#include <algorithm>

namespace pollux::buf {

bool PacketBuf::truncate(std::uint32_t len) noexcept {
    if (len > m_->pkt_len) return false;
    std::uint32_t left = len;
    rte_mbuf* seg = m_;
    // Walk to the segment where the packet now ends; keep at least the head.
    while (seg->next != nullptr && left > seg->data_len) {
        left -= seg->data_len;
        seg = seg->next;
    }
    seg->data_len = static_cast<std::uint16_t>(std::min<std::uint32_t>(left, seg->data_len));
    if (seg->next != nullptr) {
        std::uint16_t dropped = 0;
        for (rte_mbuf* s = seg->next; s != nullptr; s = s->next) ++dropped;
        rte_pktmbuf_free(seg->next);
        seg->next = nullptr;
        m_->nb_segs = static_cast<std::uint16_t>(m_->nb_segs - dropped);
    }
    m_->pkt_len = len;
    return true;
}

bool PacketBuf::chain(PacketBuf&& tail) noexcept {
    if (rte_pktmbuf_chain(m_, tail.m_) != 0) return false;
    tail.m_ = nullptr;  // now part of this chain
    return true;
}

bool PacketBuf::copy_out(std::uint32_t offset, std::span<std::uint8_t> out) const noexcept {
    if (out.empty()) return offset <= m_->pkt_len;
    const void* p = rte_pktmbuf_read(m_, offset, static_cast<std::uint32_t>(out.size()), out.data());
    if (p == nullptr) return false;
    if (p != out.data()) std::memcpy(out.data(), p, out.size());
    return true;
}

bool PacketBuf::append_copy(std::span<const std::uint8_t> data, rte_mempool* pool) noexcept {
    rte_mbuf* const old_last = rte_pktmbuf_lastseg(m_);
    const std::uint16_t old_last_len = old_last->data_len;
    const std::uint32_t old_pkt_len = m_->pkt_len;
    const std::uint16_t old_segs = m_->nb_segs;
    rte_mbuf* last = old_last;
    while (!data.empty()) {
        std::uint16_t room = rte_pktmbuf_tailroom(last);
        if (room == 0) {
            rte_mbuf* seg = m_->nb_segs < RTE_MBUF_MAX_NB_SEGS ? rte_pktmbuf_alloc(pool) : nullptr;
            if (seg == nullptr) {
                // Roll back to the packet as it was: all or nothing.
                if (old_last->next != nullptr) rte_pktmbuf_free(old_last->next);
                old_last->next = nullptr;
                old_last->data_len = old_last_len;
                m_->pkt_len = old_pkt_len;
                m_->nb_segs = old_segs;
                return false;
            }
            last->next = seg;
            last = seg;
            ++m_->nb_segs;
            room = rte_pktmbuf_tailroom(last);
        }
        const auto n = static_cast<std::uint16_t>(std::min<std::size_t>(room, data.size()));
        std::memcpy(rte_pktmbuf_mtod_offset(last, std::uint8_t*, last->data_len), data.data(), n);
        last->data_len = static_cast<std::uint16_t>(last->data_len + n);
        m_->pkt_len += n;
        data = data.subspan(n);
    }
    return true;
}

PacketBuf PacketBuf::clone_range(std::uint32_t offset, std::uint32_t len, rte_mempool* pool) const noexcept {
    if (len == 0 || std::uint64_t{offset} + len > m_->pkt_len) return {};
    const rte_mbuf* seg = m_;
    // Find the segment holding `offset`; skips empty segments too.
    while (offset >= seg->data_len) {
        offset -= seg->data_len;
        seg = seg->next;
    }
    PacketBuf head;
    rte_mbuf* tail = nullptr;
    std::uint16_t segs = 0;
    for (std::uint32_t left = len; left > 0; seg = seg->next, offset = 0) {
        const std::uint32_t here = seg->data_len - offset;
        if (here == 0) continue;  // an empty segment inside the range
        rte_mbuf* mi = rte_pktmbuf_alloc(pool);
        if (mi == nullptr) return {};  // `head` frees what was attached so far
        // attach() takes a reference on the buffer holding seg's data (seg itself, or what
        // seg points into when it is indirect) and copies seg's data window.
        rte_pktmbuf_attach(mi, const_cast<rte_mbuf*>(seg));
        const auto n = static_cast<std::uint16_t>(std::min(left, here));
        mi->data_off = static_cast<std::uint16_t>(mi->data_off + offset);
        mi->data_len = n;
        if (!head) {
            head = PacketBuf(mi);
        } else {
            tail->next = mi;
        }
        tail = mi;
        ++segs;
        left -= n;
        // Keep the head's totals right at every step, so freeing `head` on failure and
        // the result alike see a consistent chain.
        head.m_->nb_segs = segs;
        head.m_->pkt_len = len - left;
    }
    return head;
}

}  // namespace pollux::buf
