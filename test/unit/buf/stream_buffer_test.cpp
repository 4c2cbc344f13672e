#include <catch2/catch.hpp>

#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <deque>
#include <random>
#include <string>
#include <vector>

#include <rte_mbuf.h>

#include "buf/packet_buf.hpp"
#include "buf/stream_buffer.hpp"
#include "support/eal.hpp"
#include "support/packets.hpp"

using pollux::buf::PacketBuf;
using pollux::buf::StreamBuffer;
using pollux::test::Bytes;
using pollux::test::chained;
using pollux::test::mbuf_pool;
using pollux::test::packet;
using pollux::test::pattern;
using pollux::test::pool_in_use;

namespace {

constexpr std::size_t seg_len = RTE_MBUF_DEFAULT_BUF_SIZE;

Bytes str(const std::string& s) { return Bytes(s.begin(), s.end()); }

// Reads into buffers of the given sizes; returns read()'s result and the bytes it wrote.
std::pair<long, Bytes> read_into(StreamBuffer& sb, const std::vector<std::size_t>& sizes, bool peek) {
    std::vector<Bytes> bufs;
    std::vector<iovec> v;
    for (std::size_t n : sizes) bufs.emplace_back(n, 0xa5);
    for (Bytes& b : bufs) v.push_back({b.data(), b.size()});
    const long r = sb.read(v, peek);
    Bytes out;
    if (r > 0) {
        std::size_t left = static_cast<std::size_t>(r);
        for (const Bytes& b : bufs) {
            const std::size_t n = std::min(left, b.size());
            out.insert(out.end(), b.begin(), b.begin() + static_cast<std::ptrdiff_t>(n));
            left -= n;
        }
    }
    return {r, out};
}

}  // namespace

TEST_CASE("StreamBuffer reads across packets and keeps a partly read one (golden bytes)", "[buf][stream]") {
    const unsigned before = pool_in_use();
    {
        StreamBuffer sb;
        CHECK(sb.empty());
        sb.push(packet(str("abc")));
        sb.push(chained(str("defghij"), {2, 3}));  // "de" "fgh" "ij"
        CHECK(sb.size() == 10);
        CHECK(sb.segment_count() == 4);
        CHECK(sb.footprint() == 4 * seg_len);
        CHECK(pool_in_use() == before + 4);

        // Two iovecs, the second ending inside "fgh".
        auto [r, got] = read_into(sb, {2, 4}, false);
        CHECK(r == 6);
        CHECK(got == str("abcdef"));
        CHECK(sb.size() == 4);
        CHECK(sb.segment_count() == 2);  // "abc" and "de" freed, "fgh" now "gh"
        CHECK(pool_in_use() == before + 2);

        // Peek shows and keeps.
        std::tie(r, got) = read_into(sb, {100}, true);
        CHECK(r == 4);
        CHECK(got == str("ghij"));
        CHECK(sb.size() == 4);
        std::tie(r, got) = read_into(sb, {1}, true);
        CHECK(got == str("g"));

        std::tie(r, got) = read_into(sb, {1, 0, 10}, false);
        CHECK(r == 4);
        CHECK(got == str("ghij"));
        CHECK(sb.empty());
        CHECK(sb.footprint() == 0);
        CHECK(pool_in_use() == before);

        std::tie(r, got) = read_into(sb, {10}, false);
        CHECK(r == 0);
        CHECK(sb.read({}, false) == 0);
    }
    CHECK(pool_in_use() == before);
}

TEST_CASE("StreamBuffer push: empty packets and empty segments add nothing", "[buf][stream]") {
    const unsigned before = pool_in_use();
    StreamBuffer sb;
    sb.push(PacketBuf());
    sb.push(PacketBuf::alloc(mbuf_pool()));  // zero-length
    CHECK(sb.empty());
    CHECK(pool_in_use() == before);

    // A packet whose first mbuf held only headers (trimmed to nothing).
    PacketBuf p = chained(str("HEADERpayload"), {6});
    REQUIRE(p.adjust(6));
    CHECK(p.segment_count() == 2);
    sb.push(std::move(p));
    CHECK(sb.size() == 7);
    CHECK(sb.segment_count() == 1);
    CHECK(sb.footprint() == seg_len);
    CHECK(pool_in_use() == before + 1);
    CHECK(read_into(sb, {20}, false).second == str("payload"));
    CHECK(pool_in_use() == before);
}

TEST_CASE("StreamBuffer read: -EFAULT only when nothing could be copied", "[buf][stream]") {
    StreamBuffer sb;
    // Empty: a null iovec receives nothing, so no fault.
    iovec null_iov{nullptr, 5};
    CHECK(sb.read({&null_iov, 1}, false) == 0);

    sb.push(packet(str("0123456789")));
    CHECK(sb.read({&null_iov, 1}, false) == -EFAULT);
    CHECK(sb.read({&null_iov, 1}, true) == -EFAULT);
    CHECK(sb.size() == 10);

    // Zero-length null iovecs are skipped.
    Bytes three(3);
    const iovec skip_then_three[] = {{nullptr, 0}, {three.data(), 3}};
    CHECK(sb.read(skip_then_three, false) == 3);
    CHECK(three == str("012"));

    // Bytes before the fault are returned (and consumed), as tcp_recvmsg does.
    Bytes two(2);
    const iovec two_then_null[] = {{two.data(), 2}, {nullptr, 4}, {three.data(), 3}};
    CHECK(sb.read(two_then_null, true) == 2);
    CHECK(sb.size() == 7);
    CHECK(sb.read(two_then_null, false) == 2);
    CHECK(two == str("34"));
    CHECK(sb.size() == 5);

    // A null iovec after all data was copied is never reached.
    Bytes rest(5);
    const iovec rest_then_null[] = {{rest.data(), 5}, {nullptr, 4}};
    CHECK(sb.read(rest_then_null, false) == 5);
    CHECK(rest == str("56789"));
    CHECK(sb.empty());
}

TEST_CASE("StreamBuffer peek and read span many packets", "[buf][stream]") {
    const unsigned before = pool_in_use();
    StreamBuffer sb;
    Bytes all;
    for (std::uint32_t i = 0; i < 6; ++i) {
        const Bytes b = pattern(1448, 100 + i);
        all.insert(all.end(), b.begin(), b.end());
        sb.push(packet(b));
    }
    CHECK(sb.size() == 6 * 1448);
    auto [r, got] = read_into(sb, {4096}, true);
    CHECK(r == 4096);
    CHECK(got == Bytes(all.begin(), all.begin() + 4096));
    CHECK(sb.size() == 6 * 1448);
    CHECK(pool_in_use() == before + 6);
    std::tie(r, got) = read_into(sb, {4000, 96}, false);
    CHECK(got == Bytes(all.begin(), all.begin() + 4096));
    CHECK(sb.size() == 6 * 1448 - 4096);
    CHECK(pool_in_use() == before + 4);  // two whole packets freed, the third partly read
    sb.consume(1000);
    std::tie(r, got) = read_into(sb, {100'000}, false);
    CHECK(got == Bytes(all.begin() + 5096, all.end()));
    CHECK(pool_in_use() == before);
}

TEST_CASE("StreamBuffer matches a byte-deque model under random pushes and reads", "[buf][stream][random]") {
    const unsigned before = pool_in_use();
    {
        std::mt19937 rng(777);
        StreamBuffer sb;
        std::deque<std::uint8_t> model;
        std::uint32_t seed = 1;
        for (int op = 0; op < 8000; ++op) {
            const std::uint32_t kind = rng() % 10;
            if (kind < 4 && model.size() < 400'000) {
                // A packet of 1 to 3 mbufs, sometimes with an empty first one (headers).
                const std::size_t len = rng() % 4 == 0 ? 1 + rng() % 10 : 1 + rng() % 3000;
                const Bytes b = pattern(len, seed++);
                std::vector<std::size_t> cuts;
                if (rng() % 4 == 0) cuts.push_back(0);
                for (std::size_t left = len; left > 2000;) {
                    const std::size_t piece = 1 + rng() % 2000;
                    cuts.push_back(piece);
                    left -= std::min(left, piece);
                }
                PacketBuf p = chained(b, cuts);
                sb.push(std::move(p));
                model.insert(model.end(), b.begin(), b.end());
            } else if (kind < 9) {
                std::vector<std::size_t> sizes;
                for (std::uint32_t i = rng() % 4 + 1; i > 0; --i) sizes.push_back(rng() % 3 == 0 ? rng() % 5 : rng() % 6000);
                const bool peek = rng() % 3 == 0;
                const auto [r, got] = read_into(sb, sizes, peek);
                std::size_t want = 0;
                for (std::size_t n : sizes) want += n;
                want = std::min(want, model.size());
                REQUIRE(r == static_cast<long>(want));
                REQUIRE(got == Bytes(model.begin(), model.begin() + static_cast<std::ptrdiff_t>(want)));
                if (!peek) model.erase(model.begin(), model.begin() + static_cast<std::ptrdiff_t>(want));
            } else if (rng() % 20 == 0) {
                sb.clear();
                model.clear();
            } else {
                const std::size_t n = rng() % 5000;
                sb.consume(n);
                model.erase(model.begin(), model.begin() + static_cast<std::ptrdiff_t>(std::min(n, model.size())));
            }
            REQUIRE(sb.size() == model.size());
            REQUIRE(sb.footprint() == sb.segment_count() * seg_len);
            REQUIRE(pool_in_use() == before + sb.segment_count());
        }
    }
    CHECK(pool_in_use() == before);
}
