#include "runtime/tx_buffer.hpp"

#include <rte_mbuf.h>

namespace pollux::runtime {

void TxBuffer::flush() noexcept {
    std::uint16_t sent = 0;
    for (int attempt = 0; attempt < 4 && sent < count_; ++attempt) {
        sent = static_cast<std::uint16_t>(sent + port_.tx_burst(queue_, pending_.data() + sent,
                                                                static_cast<std::uint16_t>(count_ - sent)));
    }
    if (sent < count_) {
        dropped_.add(count_ - sent);
        rte_pktmbuf_free_bulk(pending_.data() + sent, count_ - sent);
    }
    count_ = 0;
}

void TxBuffer::drop_all() noexcept {
    if (count_ > 0) rte_pktmbuf_free_bulk(pending_.data(), count_);
    count_ = 0;
}

}  // namespace pollux::runtime
