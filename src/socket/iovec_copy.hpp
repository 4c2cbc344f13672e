// Copies between the caller's iovecs and packets: the only copies of the socket data path
// (received mbufs are queued as they are; a send builds its packet here).
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <span>

#include "buf/packet_buf.hpp"
#include "buf/packet_ref.hpp"

namespace pollux::socket {

// Sum of the iov_len, or -EINVAL when it exceeds SSIZE_MAX (Linux's rw_copy_check_uvector).
long iovec_total(std::span<const iovec> iov) noexcept;

// Copies `len` bytes of `packet` from `offset` into the iovecs, in order. Returns the bytes
// copied, or -EFAULT when an iovec that has to receive bytes has a null base.
long copy_to_iovecs(buf::PacketRef packet, std::uint32_t offset, std::uint32_t len,
                    std::span<const iovec> iov) noexcept;

// Appends every iovec's bytes to `packet`, taking segments from `pool`. 0, -EFAULT (a null
// base with a nonzero length) or -ENOBUFS (the pool ran dry); the packet is unchanged
// on failure only in length terms that the caller discards (it frees the packet).
int append_from_iovecs(buf::PacketBuf& packet, std::span<const iovec> iov, rte_mempool* pool) noexcept;

}  // namespace pollux::socket
