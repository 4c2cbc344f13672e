#include <catch2/catch.hpp>

#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <deque>
#include <random>
#include <string>
#include <vector>

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "buf/packet_buf.hpp"
#include "buf/send_buffer.hpp"
#include "support/eal.hpp"
#include "support/packets.hpp"

using pollux::buf::PacketBuf;
using pollux::buf::SendBuffer;
using pollux::test::Bytes;
using pollux::test::contents;
using pollux::test::mbuf_pool;
using pollux::test::pattern;
using pollux::test::pool_in_use;

namespace {

// Every test-pool mbuf's buffer: 2,048 bytes of data room + 128 of headroom.
constexpr std::size_t seg_len = RTE_MBUF_DEFAULT_BUF_SIZE;

// A pool of its own (for exhaustion and size tests), freed when the test ends; declare
// it before the buffers that take from it.
struct OwnPool {
    rte_mempool* pool;
    OwnPool(const char* name, unsigned n) {
        pool = rte_pktmbuf_pool_create(name, n, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
        REQUIRE(pool != nullptr);
    }
    ~OwnPool() { rte_mempool_free(pool); }
    unsigned in_use() const { return rte_mempool_in_use_count(pool); }
};

iovec iov(const Bytes& b) { return {const_cast<std::uint8_t*>(b.data()), b.size()}; }
iovec iov(const std::string& s) { return {const_cast<char*>(s.data()), s.size()}; }

long append(SendBuffer& sb, const Bytes& b, rte_mempool* pool = mbuf_pool()) {
    const iovec v = iov(b);
    return sb.append({&v, 1}, b.size(), pool);
}

Bytes held(const SendBuffer& sb) {
    Bytes out(sb.size());
    REQUIRE(sb.copy_out(0, out));
    return out;
}

Bytes slice_bytes(const SendBuffer& sb, std::uint32_t offset, std::uint32_t len) {
    PacketBuf p = sb.slice(offset, len, mbuf_pool());
    REQUIRE(p);
    REQUIRE(p.length() == len);
    return contents(p);
}

Bytes sub(const Bytes& b, std::size_t offset, std::size_t len) {
    return Bytes(b.begin() + static_cast<std::ptrdiff_t>(offset), b.begin() + static_cast<std::ptrdiff_t>(offset + len));
}

Bytes str(const std::string& s) { return Bytes(s.begin(), s.end()); }

// x followed by y (built in a fresh vector: GCC 12 warns falsely on insert at the end).
Bytes cat(const Bytes& x, const Bytes& y) {
    Bytes out(x.size() + y.size());
    std::copy(x.begin(), x.end(), out.begin());
    std::copy(y.begin(), y.end(), out.begin() + static_cast<std::ptrdiff_t>(x.size()));
    return out;
}

}  // namespace

TEST_CASE("SendBuffer appends, slices and consumes (golden bytes)", "[buf][send]") {
    const unsigned before = pool_in_use();
    {
        SendBuffer sb;
        CHECK(sb.empty());
        CHECK(sb.size() == 0);
        CHECK(sb.footprint() == 0);

        const std::string hello = "hello", world = " world";
        const iovec two[] = {iov(hello), iov(world)};
        CHECK(sb.append(two, 100, mbuf_pool()) == 11);
        CHECK(sb.size() == 11);
        CHECK(sb.segment_count() == 1);
        CHECK(sb.footprint() == seg_len);
        CHECK(held(sb) == str("hello world"));
        CHECK(pool_in_use() == before + 1);

        CHECK(slice_bytes(sb, 0, 11) == str("hello world"));
        CHECK(slice_bytes(sb, 6, 5) == str("world"));
        {
            PacketBuf s = sb.slice(4, 3, mbuf_pool());
            REQUIRE(s);
            CHECK(contents(s) == str("o w"));
            CHECK(s.segment_count() == 1);
            CHECK(s.is_shared());  // an indirect mbuf into the buffer: no byte copied
            CHECK(s.get()->buf_addr == sb.slice(0, 1, mbuf_pool()).get()->buf_addr);
        }

        sb.consume(6);
        CHECK(sb.size() == 5);
        CHECK(held(sb) == str("world"));
        CHECK(slice_bytes(sb, 0, 5) == str("world"));
        CHECK(sb.footprint() == seg_len);  // the segment still holds bytes

        // Appending behind a partly consumed segment fills its tailroom.
        CHECK(append(sb, str("!?")) == 2);
        CHECK(held(sb) == str("world!?"));
        CHECK(sb.segment_count() == 1);

        sb.consume(7);
        CHECK(sb.empty());
        CHECK(sb.footprint() == 0);
        CHECK(sb.segment_count() == 0);
        CHECK(pool_in_use() == before);
        CHECK(append(sb, str("again")) == 5);
        CHECK(slice_bytes(sb, 1, 4) == str("gain"));
    }
    CHECK(pool_in_use() == before);
}

TEST_CASE("SendBuffer coalesces small writes into full segments", "[buf][send]") {
    const unsigned before = pool_in_use();
    SendBuffer sb;
    const Bytes data = pattern(5000, 1);
    for (std::uint8_t byte : data) {
        const iovec v{&byte, 1};
        REQUIRE(sb.append({&v, 1}, 1, mbuf_pool()) == 1);
    }
    // Segments start their data at offset 0: each holds the whole 2,176-byte buffer.
    CHECK(sb.segment_count() == 3);
    CHECK(sb.footprint() == 3 * seg_len);
    CHECK(pool_in_use() == before + 3);
    CHECK(held(sb) == data);
    // A slice across both boundaries has one mbuf per segment it touches.
    PacketBuf s = sb.slice(seg_len - 10, seg_len + 20, mbuf_pool());
    REQUIRE(s);
    CHECK(s.segment_count() == 3);
    CHECK(contents(s) == sub(data, seg_len - 10, seg_len + 20));
    std::vector<std::uint16_t> lens;
    for (auto seg : s.segments()) lens.push_back(static_cast<std::uint16_t>(seg.size()));
    CHECK(lens == std::vector<std::uint16_t>{10, seg_len, 10});
}

TEST_CASE("SendBuffer append takes iovecs in order up to max_bytes", "[buf][send]") {
    SendBuffer sb;
    const Bytes a = pattern(100, 2), c = pattern(200, 3);
    const iovec v[] = {iov(a), {nullptr, 0}, iov(c)};
    CHECK(sb.append(v, 150, mbuf_pool()) == 150);
    CHECK(held(sb) == cat(a, sub(c, 0, 50)));
    // Nothing at all: 0, not an error.
    CHECK(sb.append(v, 0, mbuf_pool()) == 0);
    CHECK(sb.append({}, 100, mbuf_pool()) == 0);
    CHECK(sb.size() == 150);
}

TEST_CASE("SendBuffer append: -EFAULT for a null base only when it has to give bytes", "[buf][send]") {
    SendBuffer sb;
    const Bytes a = pattern(10, 4);
    const iovec bad_first[] = {{nullptr, 5}, iov(a)};
    CHECK(sb.append(bad_first, 100, mbuf_pool()) == -EFAULT);
    CHECK(sb.empty());

    // After bytes were taken: the count so far, as tcp_sendmsg returns.
    const iovec bad_second[] = {iov(a), {nullptr, 5}, iov(a)};
    CHECK(sb.append(bad_second, 100, mbuf_pool()) == 10);
    CHECK(held(sb) == a);

    // Past max_bytes the null base is never reached.
    CHECK(sb.append(bad_second, 10, mbuf_pool()) == 10);
    CHECK(sb.size() == 20);
}

TEST_CASE("SendBuffer append is short, then -ENOBUFS, when the pool runs dry", "[buf][send]") {
    OwnPool own("sb_dry", 3);
    SendBuffer sb;
    const Bytes big = pattern(10'000, 5);
    CHECK(append(sb, big, own.pool) == static_cast<long>(3 * seg_len));
    CHECK(own.in_use() == 3);
    CHECK(held(sb) == sub(big, 0, 3 * seg_len));
    CHECK(append(sb, big, own.pool) == -ENOBUFS);
    CHECK(sb.size() == 3 * seg_len);

    // Room in the last segment is still used with the pool dry.
    sb.consume(seg_len + 5);  // frees one segment...
    CHECK(own.in_use() == 2);
    // ...which the next append takes; the one partly consumed has no tailroom.
    CHECK(append(sb, big, own.pool) == static_cast<long>(seg_len));
    CHECK(append(sb, big, own.pool) == -ENOBUFS);
    sb.clear();
    CHECK(own.in_use() == 0);
    // A fresh segment partly filled, then the pool is empty: only its tailroom is taken.
    CHECK(append(sb, sub(big, 0, 100), own.pool) == 100);
    PacketBuf hog1 = PacketBuf::alloc(own.pool), hog2 = PacketBuf::alloc(own.pool);
    REQUIRE(hog1);
    REQUIRE(hog2);
    CHECK(append(sb, big, own.pool) == static_cast<long>(seg_len - 100));
    CHECK(held(sb) == cat(sub(big, 0, 100), sub(big, 0, seg_len - 100)));
}

TEST_CASE("SendBuffer slice refuses bad ranges and frees on pool exhaustion", "[buf][send]") {
    const unsigned before = pool_in_use();
    SendBuffer sb;
    REQUIRE(append(sb, pattern(3 * seg_len, 6)) == static_cast<long>(3 * seg_len));
    CHECK_FALSE(sb.slice(0, 0, mbuf_pool()));
    CHECK_FALSE(sb.slice(0, 3 * seg_len + 1, mbuf_pool()));
    CHECK_FALSE(sb.slice(3 * seg_len, 1, mbuf_pool()));
    CHECK_FALSE(sb.slice(0xffff'fff0u, 0x20, mbuf_pool()));  // offset + len overflows 32 bits
    CHECK(sb.slice(3 * seg_len - 1, 1, mbuf_pool()));
    {
        OwnPool own("sb_slice_dry", 2);
        // Three segments touched, two clones available: nothing is held afterwards.
        CHECK_FALSE(sb.slice(10, 2 * seg_len + 10, own.pool));
        CHECK(own.in_use() == 0);
        PacketBuf two = sb.slice(10, 2 * seg_len - 10, own.pool);
        CHECK(two);
        CHECK(own.in_use() == 2);
    }
    CHECK(pool_in_use() == before + 3);
}

TEST_CASE("SendBuffer slices keep their bytes through later appends, consumes and clear", "[buf][send]") {
    const unsigned before = pool_in_use();
    std::vector<PacketBuf> slices;
    std::vector<Bytes> want;
    {
        SendBuffer sb;
        Bytes model;
        auto add = [&](std::size_t n, std::uint32_t seed) {
            const Bytes b = pattern(n, seed);
            REQUIRE(append(sb, b) == static_cast<long>(n));
            model.insert(model.end(), b.begin(), b.end());
        };
        add(1000, 10);
        // A slice ending at the current end of the last segment...
        slices.push_back(sb.slice(500, 500, mbuf_pool()));
        want.push_back(sub(model, 500, 500));
        // ...then appends into that same segment's tailroom behind it.
        add(700, 11);
        CHECK(sb.segment_count() == 1);
        slices.push_back(sb.slice(0, 1700, mbuf_pool()));
        want.push_back(sub(model, 0, 1700));
        add(3000, 12);  // spills into new segments
        slices.push_back(sb.slice(1600, 2000, mbuf_pool()));
        want.push_back(sub(model, 1600, 2000));

        // The acknowledged bytes go; their segments stay alive for the slices.
        sb.consume(1650);
        model.erase(model.begin(), model.begin() + 1650);
        CHECK(held(sb) == model);
        add(100, 13);
        slices.push_back(sb.slice(0, static_cast<std::uint32_t>(model.size()), mbuf_pool()));
        want.push_back(model);
        for (std::size_t i = 0; i < slices.size(); ++i) {
            REQUIRE(slices[i]);
            CHECK(contents(slices[i]) == want[i]);
        }
        sb.clear();
        CHECK(sb.empty());
        CHECK(sb.footprint() == 0);
    }
    // The buffer is gone; the slices still read what they were made with.
    for (std::size_t i = 0; i < slices.size(); ++i) CHECK(contents(slices[i]) == want[i]);
    slices.clear();
    CHECK(pool_in_use() == before);
}

TEST_CASE("SendBuffer consume frees whole segments and trims the first", "[buf][send]") {
    const unsigned before = pool_in_use();
    SendBuffer sb;
    const Bytes data = pattern(4 * seg_len, 20);
    REQUIRE(append(sb, data) == static_cast<long>(data.size()));
    CHECK(pool_in_use() == before + 4);
    sb.consume(100);
    CHECK(sb.segment_count() == 4);
    CHECK(sb.size() == data.size() - 100);
    sb.consume(seg_len - 100);  // exactly the first segment's rest
    CHECK(sb.segment_count() == 3);
    CHECK(pool_in_use() == before + 3);
    sb.consume(2 * seg_len + 1);
    CHECK(sb.segment_count() == 1);
    CHECK(held(sb) == sub(data, 3 * seg_len + 1, seg_len - 1));
    CHECK(slice_bytes(sb, 0, 10) == sub(data, 3 * seg_len + 1, 10));
    sb.consume(0);
    CHECK(sb.size() == seg_len - 1);
    sb.consume(1'000'000);  // more than held: all of it
    CHECK(sb.empty());
    CHECK(pool_in_use() == before);
}

TEST_CASE("SendBuffer: 4 MiB sent in MSS slices walks each segment about once", "[buf][send]") {
    OwnPool own("sb_4mib", 2100);
    constexpr std::size_t total = std::size_t{4} << 20;
    constexpr std::uint32_t mss = 1448;
    SendBuffer sb;
    const Bytes data = pattern(total, 30);
    REQUIRE(append(sb, data, own.pool) == static_cast<long>(total));
    const std::size_t segments = sb.segment_count();
    CHECK(segments == (total + seg_len - 1) / seg_len);
    CHECK(segments > 1900);  // far more than one slice touches

    // A sender's pattern: send a window of 64 segments, an ACK for half of them, a
    // retransmission of the first unacknowledged one now and then, and on.
    std::size_t una = 0, nxt = 0;
    std::size_t slices = 0;
    std::uint64_t steps_new = 0;
    PacketBuf s;
    while (una < total) {
        while (nxt < total && nxt - una < 64 * mss) {
            const auto len = static_cast<std::uint32_t>(std::min<std::size_t>(mss, total - nxt));
            const std::uint64_t steps = sb.seek_steps();
            s = sb.slice(static_cast<std::uint32_t>(nxt - una), len, mbuf_pool());
            steps_new += sb.seek_steps() - steps;
            REQUIRE(s);
            REQUIRE(s.length() == len);
            // Spot-check the bytes (all of them would be 4 MiB of compares per run).
            Bytes got = contents(s);
            REQUIRE(got.front() == data[nxt]);
            REQUIRE(got.back() == data[nxt + len - 1]);
            if (slices % 97 == 0) REQUIRE(got == sub(data, nxt, len));
            nxt += len;
            ++slices;
        }
        if (slices % 5 == 0) {
            // Retransmit from SND.UNA: found from the front at once.
            const std::uint64_t steps = sb.seek_steps();
            s = sb.slice(0, mss, mbuf_pool());
            REQUIRE(s);
            CHECK(contents(s) == sub(data, una, mss));
            CHECK(sb.seek_steps() - steps <= 1);
        }
        const std::size_t acked = std::min<std::size_t>(32 * mss, nxt - una);
        sb.consume(static_cast<std::uint32_t>(acked));
        una += acked;
    }
    CHECK(sb.empty());
    CHECK(slices == (total + mss - 1) / mss);
    // Each new-data lookup steps over at most the segments between the last slice's end
    // and its own start: about one per segment in all, never a rescan from the front
    // (which would be ~1,000 steps per slice here).
    CHECK(steps_new <= segments + slices / 10);
    s.reset();
    CHECK(own.in_use() == 0);
}

TEST_CASE("SendBuffer matches a byte-vector model under random operations", "[buf][send][random]") {
    const unsigned before = pool_in_use();
    {
        std::mt19937 rng(4242);
        SendBuffer sb;
        std::deque<std::uint8_t> model;
        std::uint32_t stream_seed = 1;
        // Slices kept alive while the buffer changes, with the bytes they must show.
        std::vector<std::pair<PacketBuf, Bytes>> live;
        constexpr std::size_t cap = 300'000;  // SO_SNDBUF-like limit on bytes held

        for (int op = 0; op < 5000; ++op) {
            const std::uint32_t kind = rng() % 20;
            if (kind < 8) {
                // Up to 4 iovecs, some empty, often tiny (coalescing), capped by the space left.
                std::vector<Bytes> parts;
                std::vector<iovec> v;
                for (std::uint32_t i = rng() % 4 + 1; i > 0; --i) {
                    const std::size_t n = rng() % 3 == 0 ? rng() % 8 : rng() % 5000;
                    parts.push_back(pattern(n, stream_seed++));
                }
                for (const Bytes& p : parts) v.push_back(iov(p));
                const std::size_t max = rng() % 4 == 0 ? rng() % 3000 : cap - std::min(cap, model.size());
                const long r = sb.append(v, max, mbuf_pool());
                std::size_t want = 0;
                for (const Bytes& p : parts) {
                    const std::size_t n = std::min(p.size(), max - want);
                    model.insert(model.end(), p.begin(), p.begin() + static_cast<std::ptrdiff_t>(n));
                    want += n;
                }
                REQUIRE(r == static_cast<long>(want));
            } else if (kind < 15 && !model.empty()) {
                const auto offset = static_cast<std::uint32_t>(rng() % model.size());
                const auto len = static_cast<std::uint32_t>(1 + rng() % std::min<std::size_t>(model.size() - offset, 65'000));
                PacketBuf s = sb.slice(offset, len, mbuf_pool());
                REQUIRE(s);
                REQUIRE(s.length() == len);
                const Bytes want(model.begin() + offset, model.begin() + offset + len);
                REQUIRE(contents(s) == want);
                if (rng() % 3 == 0) live.emplace_back(std::move(s), want);
            } else if (kind < 19) {
                const auto n = static_cast<std::uint32_t>(model.empty() ? 0 : rng() % (model.size() + 1));
                sb.consume(n);
                model.erase(model.begin(), model.begin() + n);
            } else {
                sb.clear();
                model.clear();
            }
            if (live.size() > 12) live.erase(live.begin() + static_cast<std::ptrdiff_t>(rng() % live.size()));

            REQUIRE(sb.size() == model.size());
            REQUIRE(sb.footprint() == sb.segment_count() * seg_len);
            // Segments are full but for the first and the last: no mbuf per small write.
            REQUIRE(sb.segment_count() <= (model.size() + seg_len - 1) / seg_len + 1);
            if (op % 50 == 0) REQUIRE(held(sb) == Bytes(model.begin(), model.end()));
            if (op % 100 == 0) {
                for (const auto& [s, want] : live) REQUIRE(contents(s) == want);
            }
        }
        for (const auto& [s, want] : live) CHECK(contents(s) == want);
    }
    CHECK(pool_in_use() == before);
}

TEST_CASE("SendBuffer move leaves the source empty and usable", "[buf][send]") {
    const unsigned before = pool_in_use();
    {
        SendBuffer a;
        REQUIRE(append(a, pattern(3000, 40)) == 3000);
        REQUIRE(a.slice(2500, 100, mbuf_pool()));  // sets the lookup cursors
        SendBuffer b(std::move(a));
        CHECK(b.size() == 3000);
        CHECK(slice_bytes(b, 2500, 100) == sub(pattern(3000, 40), 2500, 100));
        CHECK(a.empty());  // NOLINT(bugprone-use-after-move): documented state
        REQUIRE(append(a, pattern(50, 41)) == 50);
        CHECK(slice_bytes(a, 10, 40) == sub(pattern(50, 41), 10, 40));
        a = std::move(b);
        CHECK(a.size() == 3000);
        CHECK(slice_bytes(a, 2999, 1) == sub(pattern(3000, 40), 2999, 1));
        CHECK(pool_in_use() == before + 2);
    }
    CHECK(pool_in_use() == before);
}
