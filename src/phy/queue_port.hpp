// QueuePort: a Port whose other end is the calling program, not a wire.
//
// The program injects Ethernet frames (copied into mbufs of the port's pool) that the next
// rx_burst hands to the stack, and drains, in transmit order, the frames the stack handed
// to tx_burst. It is the port of the public test harness (runtime/harness.hpp), where a
// test, an application's own test suite or a packetdrill-style tool plays the network.
//
// - It advertises no offload at all, so the stack computes every checksum in software and
//   segments nothing: every frame drained is complete, as it would appear on the wire.
// - Received frames carry no metadata (no packet type, no checksum verdict), like a NIC
//   that verifies nothing; the stack checks every checksum itself.
// - tx_burst takes every frame while the pool has mbufs: the queue is bounded only by the
//   pool, which the stack allocates from too, so a program that never drains eventually
//   sees the stack fail to allocate (ENOBUFS), as a stalled NIC would cause.
// - The queues are std::deque: this port is a test instrument, not a data path, so it may
//   allocate (DESIGN.md rule 6 is about the stack's own path, which is unchanged).
//
// Only queue 0 exists. One thread drives it; there is no locking.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <span>

#include "phy/port.hpp"
#include "wire/address.hpp"

namespace pollux::phy {

struct QueuePortConfig {
    wire::MacAddress mac;
    std::uint16_t mtu = 1500;
    rte_mempool* pool = nullptr;  // required: injected frames and the stack's packets come from it
};

class QueuePort final : public Port {
public:
    explicit QueuePort(const QueuePortConfig& config) noexcept : config_(config) {}
    // Frees every frame still queued, both ways.
    ~QueuePort() override;
    QueuePort(const QueuePort&) = delete;
    QueuePort& operator=(const QueuePort&) = delete;

    // Queues a copy of `frame` for the stack to receive (chained over several mbufs when it
    // is longer than one mbuf's data room). 0, -EINVAL for an empty frame or one longer
    // than 65535 + 14 bytes, -ENOBUFS when the pool has no mbuf for it.
    int inject(std::span<const std::uint8_t> frame) noexcept;

    // The length of the oldest frame the stack sent, or -EAGAIN when there is none.
    long next_tx_len() const noexcept;
    // Copies the oldest frame the stack sent into `out` (linearising a chain) and keeps
    // it queued: its length, -EAGAIN when there is none, -EMSGSIZE when `out` is shorter.
    long copy_next(std::span<std::uint8_t> out) const noexcept;
    // copy_next(), then frees the frame unless the copy failed.
    long drain(std::span<std::uint8_t> out) noexcept;
    // Frees the oldest frame the stack sent; false when there is none.
    bool discard() noexcept;

    std::size_t rx_pending() const noexcept { return rx_.size(); }
    std::size_t tx_pending() const noexcept { return tx_.size(); }

    std::uint16_t rx_burst(std::uint16_t queue, rte_mbuf** pkts, std::uint16_t n) noexcept override;
    std::uint16_t tx_burst(std::uint16_t queue, rte_mbuf** pkts, std::uint16_t n) noexcept override;
    wire::MacAddress mac() const noexcept override { return config_.mac; }
    std::uint16_t mtu() const noexcept override { return config_.mtu; }
    bool link_up() const noexcept override { return true; }
    const PortCapabilities& capabilities() const noexcept override { return capabilities_; }
    rte_mempool* pool(std::uint16_t queue) const noexcept override { return queue == 0 ? config_.pool : nullptr; }

private:
    QueuePortConfig config_;
    PortCapabilities capabilities_{};  // none: see the top of the file
    std::deque<rte_mbuf*> rx_;
    std::deque<rte_mbuf*> tx_;
};

}  // namespace pollux::phy
