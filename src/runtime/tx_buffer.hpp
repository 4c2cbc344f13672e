// TxBuffer: the shard's outgoing burst for one port queue. Frames collect here during a
// loop iteration and leave in one rte_eth_tx_burst (flush), the user-space equivalent of
// the qdisc + xmit_more batching; a full buffer flushes early.
#pragma once

#include <array>
#include <cstdint>

#include "buf/packet_buf.hpp"
#include "iface/frame_sink.hpp"
#include "phy/port.hpp"
#include "stats/counter.hpp"

namespace pollux::runtime {

class TxBuffer final : public iface::FrameSink {
public:
    static constexpr std::uint16_t burst = 32;

    TxBuffer(phy::Port& port, std::uint16_t queue) noexcept : port_(port), queue_(queue) {}
    ~TxBuffer() override { drop_all(); }
    TxBuffer(const TxBuffer&) = delete;
    TxBuffer& operator=(const TxBuffer&) = delete;

    void transmit(buf::PacketBuf&& frame) noexcept override {
        if (count_ == burst) flush();
        pending_[count_++] = frame.release();
    }

    // Sends what is buffered. What the port does not take after a few tries (its ring is
    // full) is freed and counted: holding it would only delay newer frames.
    void flush() noexcept;
    void drop_all() noexcept;

    std::uint16_t pending() const noexcept { return count_; }
    const stats::Counter& dropped() const noexcept { return dropped_; }

private:
    phy::Port& port_;
    std::uint16_t queue_;
    std::uint16_t count_ = 0;
    std::array<rte_mbuf*, burst> pending_{};
    stats::Counter dropped_;
};

}  // namespace pollux::runtime
