#include "socket/datagram_read.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

#include "socket/iovec_copy.hpp"

namespace pollux::socket {

DatagramRead read_datagram(buf::PacketQueue& queue, std::span<const iovec> data, int flags, RecvMeta& meta) noexcept {
    DatagramRead r;
    const auto front = queue.front();
    if (!front) {
        r.result = -EAGAIN;
        return r;
    }
    const long capacity = iovec_total(data);
    if (capacity < 0) {
        r.result = capacity;
        r.outcome = DatagramRead::Outcome::faulted;
        return r;
    }
    r.tag = queue.front_tag();
    const std::uint32_t len = front->length();
    const auto copy = static_cast<std::uint32_t>(std::min<long>(capacity, len));
    const long copied = copy_to_iovecs(*front, 0, copy, data);
    meta.msg_flags = copy < len ? MSG_TRUNC : 0;
    const bool peek = (flags & MSG_PEEK) != 0;
    if (copied < 0) {
        r.result = copied;
        r.outcome = peek ? DatagramRead::Outcome::faulted : DatagramRead::Outcome::dropped;
    } else {
        r.result = (flags & MSG_TRUNC) != 0 ? static_cast<long>(len) : copied;
        r.outcome = peek ? DatagramRead::Outcome::peeked : DatagramRead::Outcome::read;
    }
    if (!peek) queue.pop_front();
    return r;
}

}  // namespace pollux::socket
