#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <random>
#include <set>
#include <span>
#include <vector>

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "buf/packet_buf.hpp"
#include "ip/fragmentation.hpp"
#include "ip/reassembly.hpp"
#include "support/eal.hpp"
#include "support/packets.hpp"
#include "time/instant.hpp"
#include "wire/ipv4.hpp"

using pollux::buf::PacketBuf;
using pollux::ip::FragmentBatch;
using pollux::ip::Reassembler;
using pollux::ip::ReassemblyLimits;
using pollux::test::mbuf_pool;
using pollux::time::Instant;
using pollux::wire::Ipv4Address;
using pollux::wire::Ipv4Repr;
using pollux::wire::IpProtocol;
using pollux::test::Bytes;
using pollux::test::contents;
using pollux::test::pattern;
using pollux::test::pool_in_use;

namespace {


Ipv4Repr header(std::uint16_t ident) {
    Ipv4Repr r;
    r.src = Ipv4Address(198, 18, 0, 1);
    r.dst = Ipv4Address(198, 18, 0, 2);
    r.protocol = IpProtocol::udp;
    r.ident = ident;
    r.ttl = 33;
    r.tos = 0x10;
    return r;
}

// Every fragment pollux would put on the wire, flattened (as the peer receives it).
std::vector<Bytes> fragment_all(const Bytes& payload, const Ipv4Repr& ip, std::uint16_t mtu, bool& ok) {
    std::vector<Bytes> out;
    ok = pollux::ip::fragment(pollux::test::packet(payload), ip, mtu, mbuf_pool(),
                              [&](PacketBuf&& f) { out.push_back(contents(f)); });
    return out;
}

// Checks the fragments of `payload` cut for `mtu`: RFC 791's rules, then that the bytes
// put back in offset order are the payload.
void check_fragments(const std::vector<Bytes>& frags, const Bytes& payload, const Ipv4Repr& ip, std::uint16_t mtu) {
    const std::size_t chunk = (mtu - 20u) / 8 * 8;
    const std::size_t expected = payload.size() + 20 <= mtu ? 1 : (payload.size() + chunk - 1) / chunk;
    REQUIRE(frags.size() == expected);
    std::size_t next_offset = 0;
    for (std::size_t i = 0; i < frags.size(); ++i) {
        CAPTURE(i);
        CHECK(frags[i].size() <= mtu);
        const auto r = Ipv4Repr::parse(frags[i]);  // header checksum verified
        REQUIRE(r.ok());
        CHECK(r->header_len == 20);
        CHECK(r->total_len() == frags[i].size());
        CHECK(r->ident == ip.ident);
        CHECK(r->src == ip.src);
        CHECK(r->dst == ip.dst);
        CHECK(r->protocol == ip.protocol);
        CHECK(r->ttl == ip.ttl);
        CHECK(r->tos == ip.tos);
        CHECK(r->frag_offset == next_offset);
        const bool last = i + 1 == frags.size();
        CHECK(r->more_fragments == !last);
        if (!last) CHECK(r->payload_len % 8 == 0);
        CHECK(std::equal(frags[i].begin() + 20, frags[i].end(),
                         payload.begin() + static_cast<std::ptrdiff_t>(next_offset)));
        next_offset += r->payload_len;
    }
    CHECK(next_offset == payload.size());
}

// Sizes worth trying under `mtu`: both sides of every multiple of the fragment payload
// (the boundaries where one more fragment appears) and of the unfragmented limit, plus a
// sweep.
std::set<std::size_t> sizes_for(std::uint16_t mtu, std::size_t max) {
    std::set<std::size_t> s = {1, 7, 8, 9, max};
    const std::size_t chunk = (mtu - 20u) / 8 * 8;
    for (std::size_t edge : {std::size_t{mtu} - 20, chunk}) {
        for (std::size_t k = 1; k * edge <= max + 1; ++k) {
            for (std::size_t d : {k * edge - 1, k * edge, k * edge + 1}) {
                if (d >= 1 && d <= max) s.insert(d);
            }
        }
    }
    for (std::size_t n = 1; n <= max; n += 97) s.insert(n);
    return s;
}

}  // namespace

TEST_CASE("Fragment and reassemble round trip over sizes 1-9000 and common MTUs", "[ip]") {
    const unsigned before = pool_in_use();
    Reassembler r;
    std::uint16_t ident = 0;
    for (std::uint16_t mtu : {576, 1280, 1500, 9000}) {
        for (std::size_t n : sizes_for(mtu, 9000)) {
            CAPTURE(mtu, n);
            const Bytes payload = pattern(n, static_cast<std::uint32_t>(n * 31 + mtu));
            const Ipv4Repr ip = header(++ident);
            bool ok = false;
            const std::vector<Bytes> frags = fragment_all(payload, ip, mtu, ok);
            REQUIRE(ok);
            check_fragments(frags, payload, ip, mtu);

            // The peer's side: every fragment received into fresh mbufs, last one first
            // (so that the datagram completes only at the end).
            PacketBuf whole;
            for (std::size_t i = frags.size(); i-- > 0;) {
                const auto rip = Ipv4Repr::parse(frags[i]);
                REQUIRE(rip.ok());
                PacketBuf in = pollux::test::packet(frags[i]);
                PacketBuf out = r.input(std::move(in), *rip, Instant());
                REQUIRE(static_cast<bool>(out) == (i == 0));
                if (out) whole = std::move(out);
            }
            const Bytes got = contents(whole);
            REQUIRE(got.size() == 20 + n);
            CHECK(std::equal(payload.begin(), payload.end(), got.begin() + 20));
            const auto rip = Ipv4Repr::parse(got);
            REQUIRE(rip.ok());
            CHECK(rip->ident == ident);
            CHECK_FALSE(rip->is_fragment());
        }
    }
    CHECK(r.counters().fails.get() == 0);
    CHECK(r.counters().datagrams_in_progress.get() == 0);
    CHECK(pool_in_use() == before);
}

TEST_CASE("Fragmentation at the 1500-byte MTU edge", "[ip]") {
    const unsigned before = pool_in_use();
    bool ok = false;
    // 1480 bytes fit a 1500-byte MTU whole; 1481 take two fragments, 1480 + 1.
    const Bytes fits = pattern(1480, 1);
    auto frags = fragment_all(fits, header(1), 1500, ok);
    REQUIRE(ok);
    REQUIRE(frags.size() == 1);
    CHECK(frags[0].size() == 1500);
    CHECK_FALSE(Ipv4Repr::parse(frags[0])->is_fragment());

    const Bytes over = pattern(1481, 2);
    frags = fragment_all(over, header(2), 1500, ok);
    REQUIRE(ok);
    REQUIRE(frags.size() == 2);
    CHECK(frags[0].size() == 1500);
    CHECK(frags[1].size() == 21);
    CHECK(Ipv4Repr::parse(frags[1])->frag_offset == 1480);

    // 1281 under a 1280 MTU: pieces of 1256 (1260 rounded down to 8 bytes), then 25.
    const Bytes ipv6_min = pattern(1281, 3);
    frags = fragment_all(ipv6_min, header(3), 1280, ok);
    REQUIRE(ok);
    REQUIRE(frags.size() == 2);
    CHECK(frags[0].size() == 20 + 1256);
    CHECK(frags[1].size() == 20 + 25);
    CHECK(pool_in_use() == before);
}

TEST_CASE("Fragmentation shares the datagram's buffers instead of copying", "[ip]") {
    const unsigned before = pool_in_use();
    {
        const Bytes payload = pattern(4000, 7);  // two mbufs: 2048 + 1952
        PacketBuf datagram = pollux::test::packet(payload);
        REQUIRE(datagram.segment_count() == 2);
        std::vector<PacketBuf> frags;
        REQUIRE(pollux::ip::fragment(std::move(datagram), header(7), 1500, mbuf_pool(),
                                     [&](PacketBuf&& f) { frags.push_back(std::move(f)); }));
        CHECK_FALSE(datagram);  // NOLINT(bugprone-use-after-move): consumed on success
        REQUIRE(frags.size() == 3);  // 1480, 1480, 1040
        // Each: a fresh header mbuf, then indirect mbufs into the datagram's buffers. The
        // second piece (1480-2960) straddles the datagram's two segments.
        CHECK(frags[0].segment_count() == 2);
        CHECK(frags[1].segment_count() == 3);
        CHECK(frags[2].segment_count() == 2);
        for (const auto& f : frags) {
            CHECK(f.front().size() == 20);
            CHECK_FALSE(RTE_MBUF_CLONED(f.get()));
            CHECK(RTE_MBUF_CLONED(f.get()->next));
        }
        // 2 datagram mbufs (kept alive by the clones) + 3 headers + 4 indirect mbufs.
        CHECK(pool_in_use() == before + 2 + 3 + 4);
    }
    CHECK(pool_in_use() == before);
}

TEST_CASE("Fragmentation refuses a DF datagram that does not fit", "[ip]") {
    const unsigned before = pool_in_use();
    {
        Ipv4Repr ip = header(8);
        ip.dont_fragment = true;
        const Bytes payload = pattern(1481, 8);
        PacketBuf datagram = pollux::test::packet(payload);
        int emitted = 0;
        CHECK_FALSE(pollux::ip::fragment(std::move(datagram), ip, 1500, mbuf_pool(),
                                         [&](PacketBuf&&) { ++emitted; }));
        CHECK(emitted == 0);
        // Left to the caller, unchanged (to answer EMSGSIZE or quote in an ICMP error).
        REQUIRE(datagram);  // NOLINT(bugprone-use-after-move): untouched on failure
        CHECK(contents(datagram) == payload);

        // One byte less fits: sent whole, DF kept.
        bool ok = false;
        const auto frags = fragment_all(pattern(1480, 9), ip, 1500, ok);
        REQUIRE(ok);
        REQUIRE(frags.size() == 1);
        const auto r = Ipv4Repr::parse(frags[0]);
        REQUIRE(r.ok());
        CHECK(r->dont_fragment);
        CHECK_FALSE(r->is_fragment());
    }
    CHECK(pool_in_use() == before);
}

TEST_CASE("Fragmentation emits nothing and leaks nothing when the pool runs dry", "[ip]") {
    // 5 mbufs: the first two fragments' header and clone mbufs, and the third's header.
    rte_mempool* tiny = rte_pktmbuf_pool_create("frag_tiny", 5, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    REQUIRE(tiny != nullptr);
    const unsigned before = pool_in_use();
    {
        const Bytes payload = pattern(4000, 10);
        PacketBuf datagram = pollux::test::packet(payload);
        int emitted = 0;
        CHECK_FALSE(pollux::ip::fragment(std::move(datagram), header(10), 1500, tiny,
                                         [&](PacketBuf&&) { ++emitted; }));
        CHECK(emitted == 0);
        CHECK(rte_mempool_in_use_count(tiny) == 0);
        REQUIRE(datagram);  // NOLINT(bugprone-use-after-move)
        CHECK(contents(datagram) == payload);
        CHECK(rte_mbuf_refcnt_read(datagram.get()) == 1);  // no clone left attached

        // The same pool suffices for a datagram that needs fewer mbufs.
        bool ok = false;
        std::vector<Bytes> frags;
        ok = pollux::ip::fragment(pollux::test::packet(pattern(2000, 11)), header(11), 1500, tiny,
                                  [&](PacketBuf&& f) { frags.push_back(contents(f)); });
        CHECK(ok);
        CHECK(frags.size() == 2);
    }
    CHECK(rte_mempool_in_use_count(tiny) == 0);
    CHECK(pool_in_use() == before);
    rte_mempool_free(tiny);
}

TEST_CASE("Fragmentation limits: minimum MTU, 65535 bytes, refragmenting a fragment", "[ip]") {
    const unsigned before = pool_in_use();
    bool ok = false;
    {
        // Below RFC 791's 68 bytes nothing is cut; at 68 each piece carries 48 bytes.
        const Bytes payload = pattern(100, 12);
        CHECK(fragment_all(payload, header(12), 67, ok).empty());
        CHECK_FALSE(ok);
        const auto frags = fragment_all(payload, header(12), 68, ok);
        REQUIRE(ok);
        check_fragments(frags, payload, header(12), 68);
        CHECK(frags.size() == 3);
    }
    {
        // The largest payload, 65515 bytes, in 45 fragments; one byte more is refused.
        const Bytes payload = pattern(65515, 13);
        const auto frags = fragment_all(payload, header(13), 1500, ok);
        REQUIRE(ok);
        check_fragments(frags, payload, header(13), 1500);
        CHECK(frags.size() == 45);
        CHECK(fragment_all(pattern(65516, 14), header(14), 1500, ok).empty());
        CHECK_FALSE(ok);
    }
    {
        // Cutting a fragment again (offset 800, MF set): offsets continue from 800 and
        // every piece, the last included, keeps MF.
        Ipv4Repr ip = header(15);
        ip.frag_offset = 800;
        ip.more_fragments = true;
        const Bytes payload = pattern(1000, 15);
        const auto frags = fragment_all(payload, ip, 576, ok);
        REQUIRE(ok);
        REQUIRE(frags.size() == 2);
        const auto a = Ipv4Repr::parse(frags[0]);
        const auto b = Ipv4Repr::parse(frags[1]);
        REQUIRE((a.ok() && b.ok()));
        CHECK(a->frag_offset == 800);
        CHECK(a->payload_len == 552);
        CHECK(a->more_fragments);
        CHECK(b->frag_offset == 800 + 552);
        CHECK(b->payload_len == 448);
        CHECK(b->more_fragments);
    }
    CHECK(pool_in_use() == before);
}

TEST_CASE("FragmentBatch holds the largest datagram's fragments and frees what it holds", "[ip]") {
    // 65515 bytes in 48-byte pieces at the 68-byte minimum MTU.
    CHECK(FragmentBatch::capacity == 1365);
    const unsigned before = pool_in_use();
    {
        FragmentBatch batch;
        CHECK(batch.push(PacketBuf::alloc(mbuf_pool())));
        CHECK(batch.push(PacketBuf::alloc(mbuf_pool())));
        CHECK(batch.size() == 2);
        CHECK(pool_in_use() == before + 2);
        int taken = 0;
        batch.drain([&](PacketBuf&& p) {
            if (taken++ == 0) PacketBuf keep = std::move(p);  // the first is taken and freed here
        });
        CHECK(taken == 2);
        CHECK(batch.size() == 0);
        CHECK(pool_in_use() == before);  // the second, left by the sink, freed by drain
        CHECK(batch.push(PacketBuf::alloc(mbuf_pool())));
    }
    CHECK(pool_in_use() == before);  // the destructor frees the last one
}
