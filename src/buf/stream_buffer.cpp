#include "buf/stream_buffer.hpp"

#include <cerrno>
#include <cstring>

#include <algorithm>

#include <rte_mbuf.h>

namespace pollux::buf {

long StreamBuffer::read(std::span<const iovec> out, bool peek) noexcept {
    const rte_mbuf* seg = chain_.head();
    std::uint16_t at = 0;  // bytes of `seg` already copied
    std::size_t done = 0;
    bool fault = false;
    for (const iovec& v : out) {
        if (seg == nullptr) break;  // everything held is copied
        if (v.iov_len == 0) continue;
        if (v.iov_base == nullptr) {
            fault = true;
            break;
        }
        auto* dst = static_cast<std::uint8_t*>(v.iov_base);
        std::size_t filled = 0;
        while (filled < v.iov_len && seg != nullptr) {
            const auto n = static_cast<std::uint16_t>(std::min<std::size_t>(seg->data_len - at, v.iov_len - filled));
            std::memcpy(dst + filled, rte_pktmbuf_mtod_offset(seg, const std::uint8_t*, at), n);
            filled += n;
            at = static_cast<std::uint16_t>(at + n);
            if (at == seg->data_len) {  // held segments are never empty
                seg = seg->next;
                at = 0;
            }
        }
        done += filled;
    }
    if (fault && done == 0) return -EFAULT;
    if (!peek) chain_.consume(done);
    return static_cast<long>(done);
}

}  // namespace pollux::buf
