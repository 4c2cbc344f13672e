// LoopbackQueue: the backlog of datagrams this host sent to itself (127.0.0.0/8 or its own
// address), waiting for the IPv4 layer to take them in as received. It stands where
// Linux's loopback_xmit -> netif_rx puts a packet on the CPU's input backlog, which the
// next softirq run delivers: the sender returns before the receiver runs, so a reply (or
// an ICMP error) generated while a packet is delivered never recurses into the sender.
//
// Contract
// - Who: one queue per Ipv4Layer (per shard); only that shard's thread touches it.
// - Memory: the ring of `capacity` slots is allocated by the constructor; push and pop
//   never allocate. A full queue drops the new packet (Linux: netdev_max_backlog, 1000,
//   counted as a softnet drop), so a sender that loops faster than the shard delivers
//   cannot exhaust the mbuf pool.
// - Order: FIFO, as the backlog is.
#pragma once

#include <cstddef>
#include <memory>
#include <utility>

#include "buf/packet_buf.hpp"

namespace pollux::ip {

class LoopbackQueue {
public:
    // Linux's net.core.netdev_max_backlog.
    static constexpr std::size_t default_capacity = 1000;

    explicit LoopbackQueue(std::size_t capacity = default_capacity)
        : slots_(std::make_unique<buf::PacketBuf[]>(capacity)), capacity_(capacity) {}
    LoopbackQueue(const LoopbackQueue&) = delete;
    LoopbackQueue& operator=(const LoopbackQueue&) = delete;

    // Takes `packet` to the tail; when the queue is full the packet is freed and the
    // answer is false (the caller counts the drop).
    bool push(buf::PacketBuf&& packet) noexcept {
        if (size_ == capacity_) {
            packet.reset();
            return false;
        }
        slots_[(head_ + size_) % capacity_] = std::move(packet);
        ++size_;
        return true;
    }

    // The packet at the head, or an empty handle when the queue is empty.
    buf::PacketBuf pop() noexcept {
        if (size_ == 0) return {};
        buf::PacketBuf p = std::move(slots_[head_]);
        head_ = (head_ + 1) % capacity_;
        --size_;
        return p;
    }

    std::size_t size() const noexcept { return size_; }
    bool empty() const noexcept { return size_ == 0; }
    std::size_t capacity() const noexcept { return capacity_; }

private:
    std::unique_ptr<buf::PacketBuf[]> slots_;  // the PacketBufs free what is left at the end
    std::size_t capacity_;
    std::size_t head_ = 0;
    std::size_t size_ = 0;
};

}  // namespace pollux::ip
