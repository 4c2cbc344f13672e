#include <catch2/catch.hpp>

#include <vector>

#include <rte_mbuf.h>

#include "phy/port.hpp"
#include "runtime/tx_buffer.hpp"
#include "unit/iface/forge.hpp"

using pollux::buf::PacketBuf;
using pollux::runtime::TxBuffer;
using namespace pollux::test::forge;

namespace {

// A port whose tx ring takes at most `room` frames in all, and `per_call` per burst; what it
// takes it keeps (and frees at the end).
class FakePort final : public pollux::phy::Port {
public:
    std::uint16_t rx_burst(std::uint16_t, rte_mbuf**, std::uint16_t) noexcept override { return 0; }
    std::uint16_t tx_burst(std::uint16_t queue, rte_mbuf** pkts, std::uint16_t n) noexcept override {
        ++calls;
        last_queue = queue;
        std::uint16_t took = 0;
        while (took < n && took < per_call && taken.size() < room) taken.push_back(PacketBuf(pkts[took++]));
        return took;
    }
    pollux::wire::MacAddress mac() const noexcept override { return pollux::test::forge::mac(1); }
    std::uint16_t mtu() const noexcept override { return 1500; }
    bool link_up() const noexcept override { return true; }
    const pollux::phy::PortCapabilities& capabilities() const noexcept override { return caps; }
    rte_mempool* pool(std::uint16_t) const noexcept override { return pollux::test::mbuf_pool(); }

    std::size_t room = 1000;
    std::uint16_t per_call = 1000;
    int calls = 0;
    std::uint16_t last_queue = 99;
    std::vector<PacketBuf> taken;
    pollux::phy::PortCapabilities caps;
};

PacketBuf frame(std::uint8_t tag) {
    const Bytes b(60, tag);
    return packet(b);
}

}  // namespace

TEST_CASE("TxBuffer sends what it holds in one burst, in order, on its queue", "[runtime]") {
    const unsigned before = pool_in_use();
    {
        FakePort port;
        TxBuffer tx(port, 2);
        for (std::uint8_t i = 0; i < 5; ++i) tx.transmit(frame(i));
        CHECK(tx.pending() == 5);
        CHECK(port.calls == 0);
        tx.flush();
        CHECK(tx.pending() == 0);
        CHECK(port.calls == 1);
        CHECK(port.last_queue == 2);
        REQUIRE(port.taken.size() == 5);
        for (std::uint8_t i = 0; i < 5; ++i) CHECK(contents(port.taken[i])[0] == i);
        CHECK(tx.dropped().get() == 0);
        tx.flush();  // nothing to send: no call
        CHECK(port.calls == 1);
    }
    CHECK(pool_in_use() == before);
}

TEST_CASE("TxBuffer flushes early when full", "[runtime]") {
    const unsigned before = pool_in_use();
    {
        FakePort port;
        TxBuffer tx(port, 0);
        for (int i = 0; i < TxBuffer::burst; ++i) tx.transmit(frame(1));
        CHECK(port.calls == 0);
        tx.transmit(frame(2));
        CHECK(port.calls == 1);
        CHECK(port.taken.size() == TxBuffer::burst);
        CHECK(tx.pending() == 1);
    }
    CHECK(pool_in_use() == before);  // the destructor frees what was still pending
}

TEST_CASE("TxBuffer retries a ring that takes a few at a time, then drops and counts the rest", "[runtime]") {
    const unsigned before = pool_in_use();
    {
        FakePort port;
        port.per_call = 3;
        TxBuffer tx(port, 0);
        for (std::uint8_t i = 0; i < 10; ++i) tx.transmit(frame(i));
        tx.flush();
        CHECK(port.taken.size() == 10);  // 3 + 3 + 3 + 1 in four calls
        CHECK(port.calls == 4);
        CHECK(tx.dropped().get() == 0);

        port.room = 12;  // the ring fills after two more
        for (std::uint8_t i = 0; i < 6; ++i) tx.transmit(frame(i));
        tx.flush();
        CHECK(port.taken.size() == 12);
        CHECK(tx.dropped().get() == 4);
        CHECK(tx.pending() == 0);
        CHECK(pool_in_use() == before + 12);  // the four dropped were freed
    }
    CHECK(pool_in_use() == before);
}
