#include "buf/send_buffer.hpp"

#include <cerrno>
#include <climits>
#include <cstring>

#include <algorithm>
#include <initializer_list>

namespace pollux::buf {

long SendBuffer::append(std::span<const iovec> data, std::size_t max_bytes, rte_mempool* pool) noexcept {
    // The count is returned as a long (ssize_t).
    max_bytes = std::min<std::size_t>(max_bytes, LONG_MAX);
    std::size_t done = 0;
    for (const iovec& v : data) {
        if (done == max_bytes) break;
        const std::size_t want = std::min(v.iov_len, max_bytes - done);
        if (want == 0) continue;
        if (v.iov_base == nullptr) return done > 0 ? static_cast<long>(done) : -EFAULT;
        const std::size_t n = copy_in({static_cast<const std::uint8_t*>(v.iov_base), want}, pool);
        done += n;
        if (n < want) return done > 0 ? static_cast<long>(done) : -ENOBUFS;
    }
    return static_cast<long>(done);
}

std::size_t SendBuffer::copy_in(std::span<const std::uint8_t> bytes, rte_mempool* pool) noexcept {
    std::size_t done = 0;
    // Fill the last segment first; only segments this buffer allocated are written
    // (send_buffer.hpp: why writing behind a slice of it is safe).
    if (rte_mbuf* tail = chain_.tail(); tail != nullptr && RTE_MBUF_DIRECT(tail)) {
        const auto n = static_cast<std::uint16_t>(std::min<std::size_t>(rte_pktmbuf_tailroom(tail), bytes.size()));
        if (n > 0) {
            std::memcpy(rte_pktmbuf_mtod_offset(tail, std::uint8_t*, tail->data_len), bytes.data(), n);
            chain_.grow_back(n);
            done = n;
        }
    }
    while (done < bytes.size()) {
        rte_mbuf* seg = rte_pktmbuf_alloc(pool);
        if (seg == nullptr) break;
        seg->data_off = 0;  // payload needs no headroom
        const auto n = static_cast<std::uint16_t>(std::min<std::size_t>(seg->buf_len, bytes.size() - done));
        std::memcpy(rte_pktmbuf_mtod(seg, std::uint8_t*), bytes.data() + done, n);
        seg->data_len = n;
        chain_.push_back(seg);
        done += n;
    }
    return done;
}

SendBuffer::Cursor SendBuffer::seek(std::uint64_t target) const noexcept {
    Cursor c{chain_.head(), chain_.front_position()};
    // Start from the nearest remembered segment at or before the target. A remembered
    // segment that consume() freed or cut into starts before the front (all its bytes,
    // or its first ones, have left), so only cursors starting after the front are
    // taken, and those are segments still held: a stale one is never followed.
    for (const Cursor* known : {&last_, &furthest_}) {
        if (known->seg != nullptr && known->position <= target && known->position > c.position) c = *known;
    }
    while (target >= c.position + c.seg->data_len) {
        c.position += c.seg->data_len;
        c.seg = c.seg->next;
        ++seek_steps_;
    }
    return c;
}

PacketBuf SendBuffer::slice(std::uint32_t offset, std::uint32_t len, rte_mempool* pool) const noexcept {
    if (len == 0 || std::uint64_t{offset} + len > chain_.size()) return {};
    const std::uint64_t start = chain_.front_position() + offset;
    Cursor c = seek(start);
    PacketBuf head;
    rte_mbuf* tail = nullptr;
    std::uint16_t segs = 0;
    auto skip = static_cast<std::uint16_t>(start - c.position);  // into the first segment
    for (std::uint32_t left = len;;) {
        if (segs == RTE_MBUF_MAX_NB_SEGS) return {};
        rte_mbuf* mi = rte_pktmbuf_alloc(pool);
        if (mi == nullptr) return {};  // `head` frees what was attached so far
        // attach() takes a reference on the segment's buffer and copies its data window;
        // the clone then shows only the part of it in the slice.
        rte_pktmbuf_attach(mi, c.seg);
        const auto n = static_cast<std::uint16_t>(std::min<std::uint32_t>(left, c.seg->data_len - skip));
        mi->data_off = static_cast<std::uint16_t>(mi->data_off + skip);
        mi->data_len = n;
        if (!head) {
            head = PacketBuf(mi);
        } else {
            tail->next = mi;
        }
        tail = mi;
        ++segs;
        left -= n;
        // Keep the head's totals right at every step: freeing `head` on failure needs a
        // consistent chain.
        head.get()->nb_segs = segs;
        head.get()->pkt_len = len - left;
        if (left == 0) break;
        c.position += c.seg->data_len;
        c.seg = c.seg->next;
        skip = 0;
    }
    // `c` is the segment holding the slice's last byte: the next in-order slice starts
    // there or in the segment after it.
    last_ = c;
    if (furthest_.seg == nullptr || c.position >= furthest_.position) furthest_ = c;
    return head;
}

void SendBuffer::consume(std::uint32_t n) noexcept {
    // The cursors need no update: seek() ignores those the consumed bytes invalidated.
    chain_.consume(n);
}

void SendBuffer::clear() noexcept {
    chain_.clear();
    last_ = Cursor{};
    furthest_ = Cursor{};
}

}  // namespace pollux::buf
