#include <catch2/catch.hpp>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <numeric>
#include <set>
#include <vector>

#include <rte_mbuf.h>

#include "frames.hpp"
#include "phy/impaired_port.hpp"
#include "phy/sim_link.hpp"
#include "support/eal.hpp"
#include "time/clock.hpp"

using pollux::phy::ImpairedPort;
using pollux::phy::ImpairmentConfig;
using pollux::phy::SimLink;
using pollux::phy::SimLinkConfig;
using pollux::time::Duration;
using pollux::time::Instant;
using pollux::time::ManualClock;
using namespace pollux::phy::test_frames;

namespace {

// Sends `frames` frames through an ImpairedPort on a SimLink in bursts of 32 and returns
// the sequence numbers that arrived, in order.
std::vector<std::uint32_t> run(const ImpairmentConfig& cfg, std::uint32_t frames) {
    ManualClock clock;
    SimLink link(clock);
    ImpairedPort port(link.a(), clock, cfg);
    std::vector<std::uint32_t> got;
    for (std::uint32_t seq = 0; seq < frames; seq += 32) {
        const auto n = static_cast<std::uint16_t>(std::min<std::uint32_t>(32, frames - seq));
        REQUIRE(send(port, seq, n) == n);
        const auto seqs = drain(link.b());
        got.insert(got.end(), seqs.begin(), seqs.end());
    }
    return got;
}

// Receives one frame that must be there.
rte_mbuf* receive_one(pollux::phy::Port& p) {
    rte_mbuf* m = nullptr;
    REQUIRE(p.rx_burst(0, &m, 1) == 1);
    return m;
}

}  // namespace

TEST_CASE("ImpairedPort with no impairment passes every frame at once, in order", "[phy]") {
    const unsigned before = pool_in_use();
    {
        ManualClock clock;
        SimLink link(clock);
        ImpairedPort port(link.a(), clock, ImpairmentConfig{});
        REQUIRE(send(port, 0, 50) == 50);
        CHECK(port.held() == 0);
        CHECK(drain(link.b()) == iota_seqs(0, 50));
        CHECK(port.counters().sent == 50);
        CHECK(port.counters().delayed == 0);
        CHECK(port.counters().lost == 0);
    }
    CHECK(pool_in_use() == before);
}

TEST_CASE("ImpairedPort delegates receive and the port's properties", "[phy]") {
    const unsigned before = pool_in_use();
    {
        ManualClock clock;
        SimLinkConfig lc;
        lc.mtu = 1400;
        lc.capabilities.rss = true;
        lc.pool = pollux::test::mbuf_pool();
        SimLink link(clock, lc);
        ImpairmentConfig cfg;
        cfg.loss = 1.0;  // received frames are not impaired
        ImpairedPort port(link.a(), clock, cfg);
        CHECK(port.mac() == link.a().mac());
        CHECK(port.mtu() == 1400);
        CHECK(port.link_up());
        CHECK(port.capabilities().rss);
        CHECK(port.pool(0) == pollux::test::mbuf_pool());

        REQUIRE(send(link.b(), 0, 5) == 5);
        CHECK(drain(port) == iota_seqs(0, 5));
    }
    CHECK(pool_in_use() == before);
}

TEST_CASE("ImpairedPort impairs only its own queue", "[phy]") {
    const unsigned before = pool_in_use();
    {
        ManualClock clock;
        SimLink link(clock);
        ImpairmentConfig cfg;
        cfg.loss = 1.0;
        ImpairedPort port(link.a(), clock, cfg, /*queue=*/3);
        REQUIRE(send(port, 0, 4) == 4);  // queue 0 passes straight through
        CHECK(drain(link.b()) == iota_seqs(0, 4));
        CHECK(port.counters().lost == 0);

        rte_mbuf* m = make_frame(9);
        CHECK(port.tx_burst(3, &m, 1) == 1);  // queue 3 is impaired
        CHECK(port.counters().lost == 1);
    }
    CHECK(pool_in_use() == before);
}

TEST_CASE("ImpairedPort loss: 1 drops all, 0 drops none", "[phy]") {
    const unsigned before = pool_in_use();
    {
        ImpairmentConfig all;
        all.loss = 1.0;
        CHECK(run(all, 500).empty());
        ImpairmentConfig none;
        none.loss = 0.0;
        none.seed = 3;
        CHECK(run(none, 500) == iota_seqs(0, 500));

        ManualClock clock;
        SimLink link(clock);
        ImpairedPort port(link.a(), clock, all);
        REQUIRE(send(port, 0, 40) == 40);  // taken, then freed
        CHECK(port.counters().lost == 40);
        CHECK(port.counters().sent == 0);
        CHECK(link.a_to_b().frames == 0);
    }
    CHECK(pool_in_use() == before);
}

TEST_CASE("ImpairedPort loss=0.1 drops a binomial share of 10,000 frames", "[phy]") {
    const unsigned before = pool_in_use();
    {
        ManualClock clock;
        SimLink link(clock);
        ImpairmentConfig cfg;
        cfg.loss = 0.1;
        cfg.seed = 7;
        ImpairedPort port(link.a(), clock, cfg);
        std::vector<std::uint32_t> got;
        for (std::uint32_t seq = 0; seq < 10'000; seq += 25) {
            REQUIRE(send(port, seq, 25) == 25);
            const auto s = drain(link.b());
            got.insert(got.end(), s.begin(), s.end());
        }
        const std::uint64_t lost = 10'000 - got.size();
        // Mean 1,000, standard deviation 30: five deviations either way.
        CHECK(lost >= 850);
        CHECK(lost <= 1150);
        CHECK(port.counters().lost == lost);
        CHECK(port.counters().sent == got.size());
        CHECK(std::is_sorted(got.begin(), got.end()));  // loss alone never reorders
        CHECK(std::adjacent_find(got.begin(), got.end()) == got.end());
    }
    CHECK(pool_in_use() == before);
}

TEST_CASE("ImpairedPort replays exactly from its seed", "[phy]") {
    const unsigned before = pool_in_use();
    {
        ImpairmentConfig cfg;
        cfg.loss = 0.2;
        cfg.reorder = 0.1;
        cfg.duplicate = 0.05;
        cfg.seed = 1234;
        const auto first = run(cfg, 2000);
        const auto again = run(cfg, 2000);
        CHECK(first == again);
        cfg.seed = 1235;
        const auto other = run(cfg, 2000);
        CHECK(first != other);
        CHECK(first.size() > 1400);  // sanity: most frames arrive
        CHECK(other.size() > 1400);
    }
    CHECK(pool_in_use() == before);
}

TEST_CASE("ImpairedPort duplicate makes an identical, independent copy", "[phy]") {
    const unsigned before = pool_in_use();
    {
        ManualClock clock;
        SimLink link(clock);
        ImpairmentConfig cfg;
        cfg.duplicate = 1.0;
        ImpairedPort port(link.a(), clock, cfg);
        REQUIRE(send(port, 0, 5, 300) == 5);
        CHECK(port.counters().duplicated == 5);
        CHECK(port.counters().sent == 10);
        for (std::uint32_t seq = 0; seq < 5; ++seq) {
            rte_mbuf* first = receive_one(link.b());
            rte_mbuf* second = receive_one(link.b());
            CHECK(bytes_of(first) == expected_bytes(seq, 300));
            CHECK(bytes_of(second) == expected_bytes(seq, 300));
            CHECK(first != second);
            CHECK(first->buf_addr != second->buf_addr);
            CHECK(RTE_MBUF_DIRECT(second));
            CHECK(rte_mbuf_refcnt_read(first) == 1);
            CHECK(rte_mbuf_refcnt_read(second) == 1);
            rte_pktmbuf_mtod(first, std::uint8_t*)[100] ^= 0xff;
            CHECK(bytes_of(second) == expected_bytes(seq, 300));
            rte_pktmbuf_free(first);
            rte_pktmbuf_free(second);
        }
        CHECK(drain(link.b()).empty());
    }
    CHECK(pool_in_use() == before);
}

TEST_CASE("ImpairedPort corrupt flips exactly one bit", "[phy]") {
    const unsigned before = pool_in_use();
    {
        ManualClock clock;
        SimLink link(clock);
        ImpairmentConfig cfg;
        cfg.corrupt = 1.0;
        cfg.seed = 99;
        ImpairedPort port(link.a(), clock, cfg);
        std::set<std::size_t> offsets;
        std::set<int> bits;
        for (std::uint32_t seq = 0; seq < 200; ++seq) {
            const auto len = static_cast<std::uint16_t>(60 + seq % 7);
            REQUIRE(send(port, seq, 1, len) == 1);
            rte_mbuf* m = receive_one(link.b());
            // The sequence number itself may be the corrupted byte: compare by position.
            const auto got = bytes_of(m);
            const auto want = expected_bytes(seq, len);
            REQUIRE(got.size() == want.size());
            int flipped = 0;
            for (std::size_t i = 0; i < got.size(); ++i) {
                const auto diff = static_cast<std::uint8_t>(got[i] ^ want[i]);
                if (diff != 0) {
                    offsets.insert(i);
                    bits.insert(std::countr_zero(diff));
                }
                flipped += std::popcount(diff);
            }
            CHECK(flipped == 1);
            rte_pktmbuf_free(m);
        }
        CHECK(port.counters().corrupted == 200);
        // The byte and the bit are drawn, not fixed.
        CHECK(offsets.size() > 40);
        CHECK(bits.size() == 8);
    }
    CHECK(pool_in_use() == before);
}

TEST_CASE("ImpairedPort corrupts a private copy of a shared frame", "[phy]") {
    const unsigned before = pool_in_use();
    {
        ManualClock clock;
        SimLink link(clock);
        ImpairmentConfig cfg;
        cfg.corrupt = 1.0;
        ImpairedPort port(link.a(), clock, cfg);
        rte_mbuf* kept = make_frame(4, 128);
        rte_mbuf_refcnt_update(kept, 1);  // a retransmission queue's reference
        rte_mbuf* out = kept;
        REQUIRE(port.tx_burst(0, &out, 1) == 1);
        CHECK(rte_mbuf_refcnt_read(kept) == 1);
        CHECK(bytes_of(kept) == expected_bytes(4, 128));

        rte_mbuf* m = receive_one(link.b());
        CHECK(m != kept);
        const auto got = bytes_of(m);
        const auto want = expected_bytes(4, 128);
        int flipped = 0;
        for (std::size_t i = 0; i < got.size(); ++i) flipped += std::popcount(static_cast<std::uint8_t>(got[i] ^ want[i]));
        CHECK(flipped == 1);
        CHECK(port.counters().corrupted == 1);
        rte_pktmbuf_free(m);
        rte_pktmbuf_free(kept);
    }
    CHECK(pool_in_use() == before);
}

TEST_CASE("ImpairedPort reorder=1 swaps each pair; a lone held-back frame leaves after reorder_hold",
          "[phy]") {
    const unsigned before = pool_in_use();
    {
        ManualClock clock;
        SimLink link(clock);
        ImpairmentConfig cfg;
        cfg.reorder = 1.0;
        ImpairedPort port(link.a(), clock, cfg);
        REQUIRE(send(port, 0, 11) == 11);
        CHECK(drain(link.b()) == std::vector<std::uint32_t>{1, 0, 3, 2, 5, 4, 7, 6, 9, 8});
        CHECK(port.counters().reordered == 5);
        CHECK(port.held() == 1);  // frame 10 waits for a successor

        clock.advance(ImpairedPort::reorder_hold - Duration::from_ns(1));
        port.poll();
        CHECK(drain(link.b()).empty());
        clock.advance(Duration::from_ns(1));
        port.poll();
        CHECK(drain(link.b()) == std::vector<std::uint32_t>{10});
        CHECK(port.held() == 0);
        CHECK(port.counters().reordered == 5);  // nothing overtook it
        CHECK(port.counters().sent == 11);
    }
    CHECK(pool_in_use() == before);
}

TEST_CASE("ImpairedPort reorder=0.3 reorders without losing a frame", "[phy]") {
    const unsigned before = pool_in_use();
    {
        ManualClock clock;
        SimLink link(clock);
        ImpairmentConfig cfg;
        cfg.reorder = 0.3;
        cfg.seed = 5;
        ImpairedPort port(link.a(), clock, cfg);
        std::vector<std::uint32_t> got;
        for (std::uint32_t seq = 0; seq < 2000; seq += 20) {
            REQUIRE(send(port, seq, 20) == 20);
            const auto s = drain(link.b());
            got.insert(got.end(), s.begin(), s.end());
        }
        clock.advance(ImpairedPort::reorder_hold);
        port.poll();
        const auto rest = drain(link.b());
        got.insert(got.end(), rest.begin(), rest.end());

        std::vector<std::uint32_t> sorted = got;
        std::sort(sorted.begin(), sorted.end());
        CHECK(sorted == iota_seqs(0, 2000));
        std::uint64_t descents = 0;
        for (std::size_t i = 1; i < got.size(); ++i) descents += got[i] < got[i - 1] ? 1 : 0;
        // Each reordered frame arrives right after the one that overtook it.
        CHECK(descents == port.counters().reordered);
        // A frame is held back with p = 0.3 when none is: p / (1 + p) of frames, ~460.
        CHECK(descents >= 350);
        CHECK(descents <= 570);
    }
    CHECK(pool_in_use() == before);
}

TEST_CASE("ImpairedPort delay holds frames until the clock passes", "[phy]") {
    const unsigned before = pool_in_use();
    {
        ManualClock clock;
        SimLink link(clock);
        ImpairmentConfig cfg;
        cfg.delay = Duration::from_ms(5);
        ImpairedPort port(link.a(), clock, cfg);

        REQUIRE(send(port, 0, 10) == 10);
        port.poll();
        CHECK(drain(link.b()).empty());
        CHECK(port.held() == 10);
        CHECK(port.counters().delayed == 10);

        clock.set(Instant::from_ns(4'999'999));
        port.poll();
        CHECK(drain(link.b()).empty());
        clock.set(Instant::from_ns(5'000'000));
        port.poll();
        CHECK(drain(link.b()) == iota_seqs(0, 10));
        CHECK(port.counters().sent == 10);

        // tx_burst releases what is due too, ahead of the frames it is given.
        REQUIRE(send(port, 10, 3) == 3);  // due at 10ms
        clock.set(Instant::from_ns(10'000'000));
        REQUIRE(send(port, 13, 2) == 2);  // due at 15ms
        CHECK(drain(link.b()) == iota_seqs(10, 3));
        clock.set(Instant::from_ns(15'000'000));
        port.poll();
        CHECK(drain(link.b()) == iota_seqs(13, 2));
        CHECK(port.held() == 0);
    }
    CHECK(pool_in_use() == before);
}

TEST_CASE("ImpairedPort jitter spreads the delay within its bounds, in order", "[phy]") {
    const unsigned before = pool_in_use();
    {
        ManualClock clock;
        SimLink link(clock);
        ImpairmentConfig cfg;
        cfg.delay = Duration::from_ms(5);
        cfg.jitter = Duration::from_ms(2);
        cfg.seed = 11;
        ImpairedPort port(link.a(), clock, cfg);

        constexpr std::uint32_t frames = 300;
        // Frames 1ms apart: FIFO release (a frame never leaves before the one ahead of it) cuts
        // only a little off the low end of the spread.
        const Duration spacing = Duration::from_ms(1);
        const Duration step = Duration::from_us(10);
        std::vector<std::uint32_t> order;
        std::vector<std::int64_t> latency_ns;
        std::uint32_t next = 0;
        while (order.size() < frames && clock.now() < Instant::from_ns(0) + Duration::from_s(1)) {
            if (next < frames && clock.now() >= Instant::from_ns(0) + spacing * next) {
                REQUIRE(send(port, next, 1) == 1);
                ++next;
            }
            port.poll();
            for (std::uint32_t seq : drain(link.b())) {
                order.push_back(seq);
                latency_ns.push_back((clock.now() - (Instant::from_ns(0) + spacing * seq)).ns());
            }
            clock.advance(step);
        }
        CHECK(order == iota_seqs(0, frames));
        const auto [lo, hi] = std::minmax_element(latency_ns.begin(), latency_ns.end());
        CHECK(*lo >= 3'000'000);
        CHECK(*hi < 7'000'000 + step.ns());
        CHECK(*hi - *lo > 3'500'000);  // spread over most of the 4ms window
        CHECK(std::set<std::int64_t>(latency_ns.begin(), latency_ns.end()).size() > 150);  // 10us buckets
        CHECK(port.counters().delayed == frames);
    }
    CHECK(pool_in_use() == before);
}

TEST_CASE("ImpairedPort rate limits bytes per virtual second", "[phy]") {
    const unsigned before = pool_in_use();
    struct Case {
        std::uint64_t rate_bps;
        std::uint16_t frame_len;
        Duration step;
    };
    const Case c = GENERATE(Case{8'000'000, 1000, Duration::from_us(700)},
                            Case{50'000'000, 1500, Duration::from_us(90)},
                            Case{1'000'000, 64, Duration::from_us(333)});
    {
        ManualClock clock;
        SimLink link(clock);
        ImpairmentConfig cfg;
        cfg.rate_bps = c.rate_bps;
        ImpairedPort port(link.a(), clock, cfg, 0, /*queue_limit=*/50);

        // Offer more than the rate every step and count what arrives between 0.5s and 1.5s.
        const double frame_time_s = c.frame_len * 8.0 / static_cast<double>(c.rate_bps);
        const auto per_step = static_cast<std::uint16_t>(
            std::clamp(2.0 * c.step.seconds() / frame_time_s + 1.0, 1.0, 64.0));
        const Instant window_start = Instant::from_ns(0) + Duration::from_ms(500);
        const Instant window_end = Instant::from_ns(0) + Duration::from_ms(1500);
        std::uint64_t bytes = 0;
        std::uint32_t seq = 0;
        while (clock.now() < window_end) {
            REQUIRE(send(port, seq, per_step, c.frame_len) == per_step);
            seq += per_step;
            port.poll();
            rte_mbuf* rx[32];
            std::uint16_t n = 0;
            while ((n = link.b().rx_burst(0, rx, 32)) > 0) {
                for (std::uint16_t i = 0; i < n; ++i) {
                    if (clock.now() >= window_start) bytes += rx[i]->pkt_len;
                    rte_pktmbuf_free(rx[i]);
                }
            }
            clock.advance(c.step);
        }
        INFO("rate " << c.rate_bps << " bytes " << bytes);
        const double expected = static_cast<double>(c.rate_bps) / 8.0;
        CHECK(static_cast<double>(bytes) >= expected * 0.97);
        CHECK(static_cast<double>(bytes) <= expected * 1.03);
        CHECK(port.counters().queue_drops > 0);  // over-offered: the queue overflowed
        CHECK(port.counters().lost == 0);
    }
    CHECK(pool_in_use() == before);
}

TEST_CASE("ImpairedPort rate: a frame on an idle link leaves after its serialisation time", "[phy]") {
    const unsigned before = pool_in_use();
    {
        ManualClock clock;
        SimLink link(clock);
        ImpairmentConfig cfg;
        cfg.rate_bps = 1'000'000;  // 1000 bytes: 8ms
        cfg.delay = Duration::from_ms(2);
        ImpairedPort port(link.a(), clock, cfg);
        REQUIRE(send(port, 0, 2, 1000) == 2);
        clock.set(Instant::from_ns(9'999'999));
        port.poll();
        CHECK(drain(link.b()).empty());
        clock.set(Instant::from_ns(10'000'000));  // delay 2ms + 8ms on the wire
        port.poll();
        CHECK(drain(link.b()) == std::vector<std::uint32_t>{0});
        clock.set(Instant::from_ns(17'999'999));
        port.poll();
        CHECK(drain(link.b()).empty());
        clock.set(Instant::from_ns(18'000'000));  // behind the first
        port.poll();
        CHECK(drain(link.b()) == std::vector<std::uint32_t>{1});
    }
    CHECK(pool_in_use() == before);
}

TEST_CASE("ImpairedPort drops and counts when its queue is full", "[phy]") {
    const unsigned before = pool_in_use();
    {
        ManualClock clock;
        SimLink link(clock);
        ImpairmentConfig cfg;
        cfg.delay = Duration::from_ms(1);
        ImpairedPort port(link.a(), clock, cfg, 0, /*queue_limit=*/4);
        CHECK(send(port, 0, 10) == 10);  // all taken, six of them dropped
        CHECK(port.counters().queue_drops == 6);
        CHECK(port.held() == 4);
        clock.advance(Duration::from_ms(1));
        port.poll();
        CHECK(drain(link.b()) == iota_seqs(0, 4));
    }
    CHECK(pool_in_use() == before);
}

TEST_CASE("ImpairedPort keeps what the wrapped port refuses and offers it again", "[phy]") {
    const unsigned before = pool_in_use();
    {
        ManualClock clock;
        SimLinkConfig lc;
        lc.queue_depth = 4;
        SimLink link(clock, lc);
        ImpairedPort port(link.a(), clock, ImpairmentConfig{});
        CHECK(send(port, 0, 10) == 10);
        CHECK(port.held() == 6);
        CHECK(port.counters().sent == 4);
        std::vector<std::uint32_t> got = drain(link.b());
        port.poll();
        for (std::uint32_t s : drain(link.b())) got.push_back(s);
        port.poll();
        for (std::uint32_t s : drain(link.b())) got.push_back(s);
        CHECK(got == iota_seqs(0, 10));
        CHECK(port.counters().sent == 10);
        CHECK(port.held() == 0);
    }
    CHECK(pool_in_use() == before);
}

TEST_CASE("ImpairedPort frees the frames it holds when destroyed", "[phy]") {
    const unsigned before = pool_in_use();
    {
        ManualClock clock;
        SimLink link(clock);
        ImpairmentConfig cfg;
        cfg.delay = Duration::from_s(1);
        cfg.reorder = 1.0;
        ImpairedPort port(link.a(), clock, cfg);
        REQUIRE(send(port, 0, 21) == 21);
        CHECK(port.held() == 21);  // 20 queued, one held back
        CHECK(pool_in_use() == before + 21);
    }
    CHECK(pool_in_use() == before);
}
