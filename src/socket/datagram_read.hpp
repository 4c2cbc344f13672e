// Reading one datagram off a receive queue into the caller's iovecs, as udp_recvmsg() and
// raw_recvmsg() both do: a short buffer truncates (MSG_TRUNC in msg_flags; with MSG_TRUNC
// in the flags the full length is returned), MSG_PEEK leaves the datagram queued, and a
// datagram that cannot be copied (EFAULT) is dropped unless peeking.
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <span>

#include "buf/packet_queue.hpp"
#include "socket/socket.hpp"

namespace pollux::socket {

struct DatagramRead {
    enum class Outcome : std::uint8_t {
        empty,    // nothing queued: result is -EAGAIN
        read,     // copied and dequeued (InDatagrams)
        peeked,   // copied, still queued
        dropped,  // the copy faulted and the datagram was dequeued (InErrors)
        faulted,  // the copy faulted while peeking: still queued
    };
    long result = 0;           // bytes, or -errno
    Outcome outcome = Outcome::empty;
    std::uint64_t tag = 0;     // the queue's tag of the datagram (its sender)
};

// Sets meta.msg_flags; the caller fills meta's source from the tag.
DatagramRead read_datagram(buf::PacketQueue& queue, std::span<const iovec> data, int flags, RecvMeta& meta) noexcept;

}  // namespace pollux::socket
