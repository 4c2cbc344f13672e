#include "buf/segment_chain.hpp"

#include <algorithm>
#include <cstring>

namespace pollux::buf {

SegmentChain& SegmentChain::operator=(SegmentChain&& o) noexcept {
    if (this != &o) {
        clear();
        head_ = std::exchange(o.head_, nullptr);
        tail_ = std::exchange(o.tail_, nullptr);
        size_ = std::exchange(o.size_, 0);
        footprint_ = std::exchange(o.footprint_, 0);
        segments_ = std::exchange(o.segments_, 0);
        front_position_ = o.front_position_;
    }
    return *this;
}

void SegmentChain::append(PacketBuf&& p) noexcept {
    for (rte_mbuf* seg = p.release(); seg != nullptr;) {
        rte_mbuf* next = seg->next;
        seg->next = nullptr;
        if (seg->data_len == 0) {
            rte_pktmbuf_free_seg(seg);
        } else {
            push_back(seg);
        }
        seg = next;
    }
}

void SegmentChain::append(SegmentChain&& other) noexcept {
    if (other.head_ == nullptr || &other == this) return;
    if (tail_ != nullptr) {
        tail_->next = other.head_;
    } else {
        head_ = other.head_;
    }
    tail_ = other.tail_;
    size_ += other.size_;
    footprint_ += other.footprint_;
    segments_ += other.segments_;
    // The bytes left `other` by its front.
    other.front_position_ += other.size_;
    other.head_ = nullptr;
    other.tail_ = nullptr;
    other.size_ = 0;
    other.footprint_ = 0;
    other.segments_ = 0;
}

void SegmentChain::free_head() noexcept {
    rte_mbuf* seg = head_;
    head_ = seg->next;
    if (head_ == nullptr) tail_ = nullptr;
    // Unlinked before the free: a segment another holder still references (refcnt > 1)
    // is not reset by rte_pktmbuf_free_seg, and must not keep pointing into this chain.
    seg->next = nullptr;
    footprint_ -= seg->buf_len;
    --segments_;
    rte_pktmbuf_free_seg(seg);
}

void SegmentChain::consume(std::size_t n) noexcept {
    n = std::min(n, size_);
    size_ -= n;
    front_position_ += n;
    while (n > 0) {
        rte_mbuf* seg = head_;
        if (n >= seg->data_len) {
            n -= seg->data_len;
            free_head();
        } else {
            // Only this mbuf's window moves; clones of it keep their own data_off/len.
            seg->data_off = static_cast<std::uint16_t>(seg->data_off + n);
            seg->data_len = static_cast<std::uint16_t>(seg->data_len - n);
            seg->pkt_len = seg->data_len;
            n = 0;
        }
    }
}

PacketBuf SegmentChain::take_front() noexcept {
    if (head_ == nullptr) return {};
    rte_mbuf* const first = head_;
    if (segments_ <= RTE_MBUF_MAX_NB_SEGS) {
        // A uint32 pkt_len: callers hold far less than 4 GiB in one chain (TCP windows
        // are below 2^30, RFC 7323 §2.3).
        assert(size_ <= UINT32_MAX);
        first->nb_segs = static_cast<std::uint16_t>(segments_);
        first->pkt_len = static_cast<std::uint32_t>(size_);
        front_position_ += size_;
        head_ = nullptr;
        tail_ = nullptr;
        size_ = 0;
        footprint_ = 0;
        segments_ = 0;
        return PacketBuf(first);
    }
    std::uint32_t bytes = 0;
    std::size_t buffer = 0;
    rte_mbuf* last = first;
    for (std::size_t i = 1;; ++i) {
        bytes += last->data_len;
        buffer += last->buf_len;
        if (i == RTE_MBUF_MAX_NB_SEGS) break;
        last = last->next;
    }
    head_ = last->next;
    last->next = nullptr;
    first->nb_segs = RTE_MBUF_MAX_NB_SEGS;
    first->pkt_len = bytes;
    size_ -= bytes;
    footprint_ -= buffer;
    segments_ -= RTE_MBUF_MAX_NB_SEGS;
    front_position_ += bytes;
    return PacketBuf(first);
}

void SegmentChain::clear() noexcept {
    front_position_ += size_;
    while (head_ != nullptr) free_head();
    size_ = 0;
}

bool SegmentChain::copy_out(std::size_t offset, std::span<std::uint8_t> out) const noexcept {
    if (offset > size_ || out.size() > size_ - offset) return false;
    const rte_mbuf* seg = head_;
    while (seg != nullptr && offset >= seg->data_len) {
        offset -= seg->data_len;
        seg = seg->next;
    }
    std::size_t done = 0;
    for (; done < out.size(); seg = seg->next, offset = 0) {
        const std::size_t n = std::min<std::size_t>(seg->data_len - offset, out.size() - done);
        std::memcpy(out.data() + done, rte_pktmbuf_mtod_offset(seg, const std::uint8_t*, offset), n);
        done += n;
    }
    return true;
}

}  // namespace pollux::buf
