#include <catch2/catch.hpp>

#include <numeric>
#include <vector>

#include <rte_mbuf.h>

#include "frames.hpp"
#include "phy/sim_link.hpp"
#include "support/eal.hpp"
#include "time/clock.hpp"

using pollux::phy::PortCapabilities;
using pollux::phy::SimLink;
using pollux::phy::SimLinkConfig;
using pollux::time::Duration;
using pollux::time::Instant;
using pollux::time::ManualClock;
using pollux::wire::MacAddress;
using namespace pollux::phy::test_frames;

TEST_CASE("SimLink carries frames both ways and counts them", "[phy]") {
    const unsigned before = pool_in_use();
    {
        ManualClock clock;
        SimLink link(clock);
        CHECK(send(link.a(), 0, 3, 100) == 3);
        CHECK(send(link.b(), 10, 2, 60) == 2);
        CHECK(link.in_flight_a_to_b() == 3);
        CHECK(link.in_flight_b_to_a() == 2);

        // Nothing comes back to the sender's own side.
        CHECK(drain(link.b()) == std::vector<std::uint32_t>{0, 1, 2});
        CHECK(drain(link.a()) == std::vector<std::uint32_t>{10, 11});
        CHECK(link.in_flight_a_to_b() == 0);

        CHECK(link.a_to_b().frames == 3);
        CHECK(link.a_to_b().bytes == 300);
        CHECK(link.a_to_b().delivered == 3);
        CHECK(link.a_to_b().refused == 0);
        CHECK(link.b_to_a().frames == 2);
        CHECK(link.b_to_a().bytes == 120);
        CHECK(link.b_to_a().delivered == 2);
    }
    CHECK(pool_in_use() == before);
}

TEST_CASE("SimLink delivers the bytes sent", "[phy]") {
    const unsigned before = pool_in_use();
    {
        ManualClock clock;
        SimLink link(clock);
        rte_mbuf* out = make_frame(42, 200);
        REQUIRE(link.a().tx_burst(0, &out, 1) == 1);
        rte_mbuf* in = nullptr;
        REQUIRE(link.b().rx_burst(0, &in, 1) == 1);
        CHECK(in == out);  // an exclusively owned frame moves without a copy
        CHECK(bytes_of(in) == expected_bytes(42, 200));
        rte_pktmbuf_free(in);
    }
    CHECK(pool_in_use() == before);
}

TEST_CASE("SimLink endpoints report their configuration", "[phy]") {
    ManualClock clock;
    SECTION("defaults") {
        SimLink link(clock);
        CHECK(link.a().mac() == MacAddress({0x02, 0, 0, 0, 0, 0x01}));
        CHECK(link.b().mac() == MacAddress({0x02, 0, 0, 0, 0, 0x02}));
        CHECK(link.a().mtu() == 1500);
        CHECK(link.a().link_up());
        CHECK(link.b().link_up());
        CHECK(link.a().capabilities() == PortCapabilities{});
        CHECK(link.a().pool(0) == nullptr);
    }
    SECTION("configured") {
        SimLinkConfig cfg;
        cfg.mac_a = MacAddress({0x02, 0xaa, 0, 0, 0, 0x0a});
        cfg.mac_b = MacAddress({0x02, 0xbb, 0, 0, 0, 0x0b});
        cfg.mtu = 9000;
        cfg.capabilities.rx_l4_checksum = true;
        cfg.capabilities.tso = true;
        cfg.pool = pollux::test::mbuf_pool();
        SimLink link(clock, cfg);
        CHECK(link.a().mac() == cfg.mac_a);
        CHECK(link.b().mac() == cfg.mac_b);
        CHECK(link.b().mtu() == 9000);
        CHECK(link.b().capabilities().tso);
        CHECK(link.b().capabilities().rx_l4_checksum);
        CHECK_FALSE(link.b().capabilities().rss);
        CHECK(link.a().pool(0) == pollux::test::mbuf_pool());
        CHECK(link.b().pool(0) == pollux::test::mbuf_pool());
    }
}

TEST_CASE("SimLink keeps FIFO order across bursts of any size", "[phy]") {
    const unsigned before = pool_in_use();
    {
        ManualClock clock;
        SimLink link(clock);
        std::uint32_t seq = 0;
        for (std::uint16_t burst : {1, 5, 32, 7, 64, 3}) {
            REQUIRE(send(link.a(), seq, burst) == burst);
            seq += burst;
        }
        // Read back in odd-sized bursts.
        std::vector<std::uint32_t> got;
        rte_mbuf* rx[7];
        std::uint16_t n = 0;
        while ((n = link.b().rx_burst(0, rx, 7)) > 0) {
            CHECK(n <= 7);
            for (std::uint16_t i = 0; i < n; ++i) {
                got.push_back(seq_of(rx[i]));
                rte_pktmbuf_free(rx[i]);
            }
        }
        CHECK(got == iota_seqs(0, seq));
    }
    CHECK(pool_in_use() == before);
}

TEST_CASE("SimLink holds frames for the one-way latency on virtual time", "[phy]") {
    const unsigned before = pool_in_use();
    {
        ManualClock clock;
        SimLinkConfig cfg;
        cfg.latency = Duration::from_us(10);
        SimLink link(clock, cfg);

        REQUIRE(send(link.a(), 0, 2) == 2);  // sent at t=0, due at 10us
        clock.advance(Duration::from_us(5));
        REQUIRE(send(link.a(), 2, 1) == 1);  // sent at 5us, due at 15us
        REQUIRE(send(link.b(), 100, 1) == 1);

        clock.set(Instant::from_ns(9'999));
        CHECK(drain(link.b()).empty());
        CHECK(drain(link.a()).empty());
        clock.set(Instant::from_ns(10'000));
        CHECK(drain(link.b()) == std::vector<std::uint32_t>{0, 1});
        clock.set(Instant::from_ns(14'999));
        CHECK(drain(link.b()).empty());
        CHECK(drain(link.a()).empty());
        clock.set(Instant::from_ns(15'000));
        CHECK(drain(link.b()) == std::vector<std::uint32_t>{2});
        CHECK(drain(link.a()) == std::vector<std::uint32_t>{100});
    }
    CHECK(pool_in_use() == before);
}

TEST_CASE("SimLink pushes back when a direction is full", "[phy]") {
    const unsigned before = pool_in_use();
    {
        ManualClock clock;
        SimLinkConfig cfg;
        cfg.queue_depth = 8;
        SimLink link(clock, cfg);

        // send() frees what the port leaves with the caller.
        CHECK(send(link.a(), 0, 10) == 8);
        CHECK(link.a_to_b().frames == 8);
        CHECK(link.a_to_b().refused == 2);
        CHECK(link.in_flight_a_to_b() == 8);
        CHECK(send(link.a(), 10, 1) == 0);
        CHECK(link.a_to_b().refused == 3);

        // The other direction is independent.
        CHECK(send(link.b(), 50, 8) == 8);

        // Receiving three makes room for three.
        rte_mbuf* rx[3];
        REQUIRE(link.b().rx_burst(0, rx, 3) == 3);
        for (rte_mbuf* m : rx) rte_pktmbuf_free(m);
        CHECK(send(link.a(), 20, 5) == 3);
        CHECK(drain(link.b()) == std::vector<std::uint32_t>{3, 4, 5, 6, 7, 20, 21, 22});
        CHECK(drain(link.a()).size() == 8);
    }
    CHECK(pool_in_use() == before);
}

TEST_CASE("SimLink has only queue 0", "[phy]") {
    const unsigned before = pool_in_use();
    {
        ManualClock clock;
        SimLink link(clock);
        rte_mbuf* m = make_frame(1);
        CHECK(link.a().tx_burst(1, &m, 1) == 0);
        CHECK(link.a().tx_burst(7, &m, 1) == 0);
        CHECK(link.a_to_b().frames == 0);
        REQUIRE(link.a().tx_burst(0, &m, 1) == 1);

        rte_mbuf* rx[4];
        CHECK(link.b().rx_burst(1, rx, 4) == 0);
        CHECK(link.b().rx_burst(65535, rx, 4) == 0);
        CHECK(link.in_flight_a_to_b() == 1);
        CHECK(drain(link.b()) == std::vector<std::uint32_t>{1});
    }
    CHECK(pool_in_use() == before);
}

TEST_CASE("SimLink frees frames still in flight when destroyed", "[phy]") {
    const unsigned before = pool_in_use();
    {
        ManualClock clock;
        SimLinkConfig cfg;
        cfg.latency = Duration::from_s(1);
        SimLink link(clock, cfg);
        REQUIRE(send(link.a(), 0, 40) == 40);
        REQUIRE(send(link.b(), 100, 25) == 25);
        CHECK(pool_in_use() == before + 65);
    }
    CHECK(pool_in_use() == before);
}

TEST_CASE("SimLink copies a frame whose bytes the sender still shares", "[phy]") {
    const unsigned before = pool_in_use();
    {
        ManualClock clock;
        SimLink link(clock);

        SECTION("an extra reference") {
            rte_mbuf* kept = make_frame(9, 80);
            rte_mbuf_refcnt_update(kept, 1);  // the sender keeps one reference
            rte_mbuf* out = kept;
            REQUIRE(link.a().tx_burst(0, &out, 1) == 1);
            CHECK(rte_mbuf_refcnt_read(kept) == 1);  // the link let go of the sender's reference

            rte_mbuf* in = nullptr;
            REQUIRE(link.b().rx_burst(0, &in, 1) == 1);
            CHECK(in != kept);
            CHECK(bytes_of(in) == expected_bytes(9, 80));
            rte_pktmbuf_mtod(in, std::uint8_t*)[10] ^= 0xff;  // the receiver writes into its frame
            CHECK(bytes_of(kept) == expected_bytes(9, 80));
            rte_pktmbuf_free(in);
            rte_pktmbuf_free(kept);
        }
        SECTION("an indirect clone") {
            rte_mbuf* original = make_frame(5, 120);
            rte_mbuf* clone = rte_pktmbuf_clone(original, pollux::test::mbuf_pool());
            REQUIRE(clone != nullptr);
            REQUIRE(link.a().tx_burst(0, &clone, 1) == 1);
            rte_mbuf* in = nullptr;
            REQUIRE(link.b().rx_burst(0, &in, 1) == 1);
            CHECK(RTE_MBUF_DIRECT(in));
            CHECK(rte_mbuf_refcnt_read(in) == 1);
            CHECK(rte_mbuf_refcnt_read(original) == 1);  // the clone was freed
            CHECK(bytes_of(in) == expected_bytes(5, 120));
            rte_pktmbuf_free(in);
            rte_pktmbuf_free(original);
        }
        CHECK(link.a_to_b().no_mbuf == 0);
    }
    CHECK(pool_in_use() == before);
}

TEST_CASE("SimLink delivers no sender metadata", "[phy]") {
    const unsigned before = pool_in_use();
    {
        ManualClock clock;
        SimLink link(clock);
        rte_mbuf* m = make_frame(3);
        m->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_RX_IP_CKSUM_GOOD;
        m->l2_len = 14;
        m->l3_len = 20;
        m->packet_type = RTE_PTYPE_L3_IPV4;
        REQUIRE(link.a().tx_burst(0, &m, 1) == 1);
        rte_mbuf* in = nullptr;
        REQUIRE(link.b().rx_burst(0, &in, 1) == 1);
        CHECK(in->ol_flags == 0);
        CHECK(in->l2_len == 0);
        CHECK(in->l3_len == 0);
        CHECK(in->packet_type == 0);
        CHECK(bytes_of(in) == expected_bytes(3));
        rte_pktmbuf_free(in);
    }
    CHECK(pool_in_use() == before);
}
