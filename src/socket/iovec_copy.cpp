#include "socket/iovec_copy.hpp"

#include <cerrno>
#include <climits>

#include <algorithm>

namespace pollux::socket {

long iovec_total(std::span<const iovec> iov) noexcept {
    std::size_t total = 0;
    for (const iovec& v : iov) {
        if (v.iov_len > static_cast<std::size_t>(SSIZE_MAX) - total) return -EINVAL;
        total += v.iov_len;
    }
    return static_cast<long>(total);
}

long copy_to_iovecs(buf::PacketRef packet, std::uint32_t offset, std::uint32_t len,
                    std::span<const iovec> iov) noexcept {
    std::uint32_t done = 0;
    for (const iovec& v : iov) {
        if (done == len) break;
        const auto n = static_cast<std::uint32_t>(std::min<std::size_t>(v.iov_len, len - done));
        if (n == 0) continue;
        if (v.iov_base == nullptr) return -EFAULT;
        if (!packet.copy_out(offset + done, {static_cast<std::uint8_t*>(v.iov_base), n})) return -EFAULT;
        done += n;
    }
    return done;
}

int append_from_iovecs(buf::PacketBuf& packet, std::span<const iovec> iov, rte_mempool* pool) noexcept {
    for (const iovec& v : iov) {
        if (v.iov_len == 0) continue;
        if (v.iov_base == nullptr) return -EFAULT;
        if (!packet.append_copy({static_cast<const std::uint8_t*>(v.iov_base), v.iov_len}, pool)) return -ENOBUFS;
    }
    return 0;
}

}  // namespace pollux::socket
