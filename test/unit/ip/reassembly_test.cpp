#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <random>
#include <span>
#include <vector>

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "buf/packet_buf.hpp"
#include "ip/reassembly.hpp"
#include "support/eal.hpp"
#include "support/packets.hpp"
#include "time/instant.hpp"
#include "wire/byte_order.hpp"
#include "wire/checksum.hpp"
#include "wire/ipv4.hpp"

using pollux::buf::PacketBuf;
using pollux::buf::RxChecksum;
using pollux::ip::Reassembler;
using pollux::ip::ReassemblyLimits;
using pollux::test::mbuf_pool;
using pollux::time::Duration;
using pollux::time::Instant;
using pollux::wire::Ipv4Address;
using pollux::wire::Ipv4Repr;
using pollux::wire::IpProtocol;
using pollux::test::Bytes;
using pollux::test::contents;
using pollux::test::pattern;
using pollux::test::pool_in_use;

namespace {

const Instant t0 = Instant::from_ns(1'000'000'000);

Ipv4Repr base_header(std::uint16_t ident, IpProtocol proto = IpProtocol::udp,
                     Ipv4Address src = Ipv4Address(192, 0, 2, 1)) {
    Ipv4Repr r;
    r.src = src;
    r.dst = Ipv4Address(198, 51, 100, 7);
    r.protocol = proto;
    r.ident = ident;
    r.ttl = 61;
    r.tos = 0x28;
    return r;
}

// One fragment as it comes off the wire: `r`'s fixed header, then `options` (IHL to
// match), then `payload`; header checksum valid.
Bytes fragment_bytes(Ipv4Repr r, std::span<const std::uint8_t> payload, std::span<const std::uint8_t> options = {}) {
    const std::size_t hl = 20 + options.size();
    r.payload_len = static_cast<std::uint16_t>(options.size() + payload.size());  // emit(): total = 20 + this
    Bytes b(hl + payload.size());
    r.emit(b);
    b[0] = static_cast<std::uint8_t>(0x40 | (hl / 4));
    std::copy(options.begin(), options.end(), b.begin() + 20);
    std::copy(payload.begin(), payload.end(), b.begin() + static_cast<std::ptrdiff_t>(hl));
    pollux::wire::store_be16(&b[10], 0);
    pollux::wire::store_be16(&b[10], pollux::wire::internet_checksum(std::span(b).first(hl)));
    return b;
}

// A piece of the payload: [offset, offset + len).
struct Piece {
    std::uint32_t offset;
    std::uint32_t len;
};

std::vector<Piece> split(std::uint32_t total, std::uint32_t chunk) {
    std::vector<Piece> v;
    for (std::uint32_t off = 0; off < total; off += chunk) v.push_back({off, std::min(chunk, total - off)});
    return v;
}

// The wire bytes of `piece` of `payload` under header `base`.
Bytes piece_bytes(const Ipv4Repr& base, const Bytes& payload, Piece piece, std::span<const std::uint8_t> options = {}) {
    Ipv4Repr r = base;
    r.frag_offset = static_cast<std::uint16_t>(piece.offset);
    r.more_fragments = piece.offset + piece.len < payload.size();
    return fragment_bytes(r, std::span(payload).subspan(piece.offset, piece.len), options);
}

// Receives `bytes` as a port would (parse, then the packet in pool mbufs) and hands it in.
PacketBuf feed(Reassembler& r, const Bytes& bytes, Instant now) {
    const auto ip = Ipv4Repr::parse(bytes);
    REQUIRE(ip.ok());
    PacketBuf p = PacketBuf::alloc(mbuf_pool());
    REQUIRE(p);
    REQUIRE(p.append_copy(bytes, mbuf_pool()));
    return r.input(std::move(p), *ip, now);
}

// `d` is the reassembled datagram of `payload` under `base`, with `options` kept.
void check_datagram(const PacketBuf& d, const Ipv4Repr& base, const Bytes& payload,
                    std::span<const std::uint8_t> options = {}) {
    REQUIRE(d);
    const Bytes all = contents(d);
    const std::size_t hl = 20 + options.size();
    REQUIRE(all.size() == hl + payload.size());
    CHECK(d.length() == all.size());
    const auto ip = Ipv4Repr::parse(all);  // verifies the rewritten checksum too
    REQUIRE(ip.ok());
    CHECK(ip->header_len == hl);
    CHECK(ip->payload_len == payload.size());
    CHECK_FALSE(ip->more_fragments);
    CHECK(ip->frag_offset == 0);
    CHECK(ip->ident == base.ident);
    CHECK(ip->src == base.src);
    CHECK(ip->dst == base.dst);
    CHECK(ip->protocol == base.protocol);
    CHECK(ip->ttl == base.ttl);
    CHECK(ip->tos == base.tos);
    CHECK(std::equal(options.begin(), options.end(), all.begin() + 20));
    CHECK(std::equal(payload.begin(), payload.end(), all.begin() + static_cast<std::ptrdiff_t>(hl)));
}

ReassemblyLimits small_limits() {
    ReassemblyLimits l;
    l.max_datagrams = 16;
    return l;
}

}  // namespace

TEST_CASE("Reassembly in order, reverse order and shuffled, 2 to 45 fragments", "[ip]") {
    const unsigned before = pool_in_use();
    std::mt19937 rng(20240611);
    for (std::uint32_t k = 2; k <= 45; ++k) {
        // 1480-byte pieces (a 1500-byte MTU) and a shorter last one; k = 45 with a 395-byte
        // tail is the largest datagram there is: 20 + 44 * 1480 + 395 = 65535.
        const std::uint32_t tail = k == 45 ? 395 : 1 + (k * 37) % 395;
        const Bytes payload = pattern((k - 1) * 1480 + tail, k);
        std::vector<Piece> pieces = split(static_cast<std::uint32_t>(payload.size()), 1480);
        REQUIRE(pieces.size() == k);
        for (int order = 0; order < 3; ++order) {
            CAPTURE(k, order);
            if (order == 1) std::reverse(pieces.begin(), pieces.end());
            if (order == 2) std::shuffle(pieces.begin(), pieces.end(), rng);
            Reassembler r(small_limits());
            const Ipv4Repr base = base_header(static_cast<std::uint16_t>(1000 + k));
            for (std::size_t i = 0; i + 1 < pieces.size(); ++i) {
                CHECK_FALSE(feed(r, piece_bytes(base, payload, pieces[i]), t0));
            }
            CHECK(r.counters().datagrams_in_progress.get() == 1);
            CHECK(r.counters().memory_in_use.get() == (k - 1) * std::size_t{RTE_MBUF_DEFAULT_BUF_SIZE});
            const PacketBuf d = feed(r, piece_bytes(base, payload, pieces.back()), t0);
            check_datagram(d, base, payload);
            CHECK(d.segment_count() == k);  // the fragments' own mbufs, chained: no copy
            CHECK(r.counters().reqds.get() == k);
            CHECK(r.counters().oks.get() == 1);
            CHECK(r.counters().fails.get() == 0);
            CHECK(r.counters().memory_in_use.get() == 0);
            CHECK(r.counters().datagrams_in_progress.get() == 0);
            CHECK(r.next_expiry() == Instant::max());
        }
    }
    CHECK(pool_in_use() == before);
}

TEST_CASE("Reassembly keeps the first fragment's options and strips the others'", "[ip]") {
    const unsigned before = pool_in_use();
    {
        Reassembler r(small_limits());
        // Router Alert (RFC 2113) then a Record Route with room for one address and an EOL:
        // 16 bytes of options, IHL 9.
        const Bytes first_options = {0x94, 0x04, 0x00, 0x00, 0x07, 0x07, 0x04, 0x0a,
                                     0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00};
        // A copied option (Router Alert has the copy bit) on a later fragment, IHL 6.
        const Bytes later_options = {0x94, 0x04, 0x00, 0x00};
        const Ipv4Repr base = base_header(77);
        const Bytes payload = pattern(3000, 77);
        const auto pieces = split(3000, 1472);
        CHECK_FALSE(feed(r, piece_bytes(base, payload, pieces[2], later_options), t0));
        CHECK_FALSE(feed(r, piece_bytes(base, payload, pieces[0], first_options), t0));
        const PacketBuf d = feed(r, piece_bytes(base, payload, pieces[1], later_options), t0);
        check_datagram(d, base, payload, first_options);
        CHECK(r.counters().oks.get() == 1);
    }
    CHECK(pool_in_use() == before);
}

TEST_CASE("Reassembly drops an exact duplicate alone and still completes", "[ip]") {
    const unsigned before = pool_in_use();
    {
        Reassembler r(small_limits());
        const Ipv4Repr base = base_header(5);
        const Bytes payload = pattern(4000, 5);
        const auto p = split(4000, 1480);  // 0-1480, 1480-2960, 2960-4000
        CHECK_FALSE(feed(r, piece_bytes(base, payload, p[0]), t0));
        CHECK_FALSE(feed(r, piece_bytes(base, payload, p[0]), t0));  // the first again
        CHECK_FALSE(feed(r, piece_bytes(base, payload, p[2]), t0));
        CHECK_FALSE(feed(r, piece_bytes(base, payload, p[2]), t0));  // the last again
        CHECK(r.counters().duplicates.get() == 2);
        CHECK(r.counters().memory_in_use.get() == 2 * std::size_t{RTE_MBUF_DEFAULT_BUF_SIZE});
        const PacketBuf d = feed(r, piece_bytes(base, payload, p[1]), t0);
        check_datagram(d, base, payload);
        CHECK(d.segment_count() == 3);
        CHECK(r.counters().reqds.get() == 5);
        CHECK(r.counters().overlaps.get() == 0);
        CHECK(r.counters().fails.get() == 0);
    }
    CHECK(pool_in_use() == before);
}

TEST_CASE("Reassembly drops the whole datagram on an overlap", "[ip]") {
    const unsigned before = pool_in_use();
    const Ipv4Repr base = base_header(9);
    const Bytes payload = pattern(64, 9);
    struct Case {
        const char* name;
        Piece second;
    };
    // Held first: [16, 32). Each second piece overlaps it some other way.
    const Case cases[] = {
        {"ends inside", {8, 16}},
        {"starts inside", {24, 16}},
        {"same start, longer", {16, 24}},
        {"same start, shorter", {16, 8}},
        {"covers it", {8, 32}},
        {"inside it", {24, 8}},
    };
    for (const auto& c : cases) {
        CAPTURE(c.name);
        Reassembler r(small_limits());
        CHECK_FALSE(feed(r, piece_bytes(base, payload, {0, 8}), t0));
        CHECK_FALSE(feed(r, piece_bytes(base, payload, {16, 16}), t0));
        CHECK_FALSE(feed(r, piece_bytes(base, payload, c.second), t0));
        CHECK(r.counters().overlaps.get() == 1);
        CHECK(r.counters().fails.get() == 1);
        CHECK(r.counters().datagrams_in_progress.get() == 0);
        CHECK(r.counters().memory_in_use.get() == 0);
        CHECK(pool_in_use() == before);
        // The rest of the datagram now starts over and cannot complete from the old
        // pieces: [8, 16) and [32, 64) alone leave holes.
        CHECK_FALSE(feed(r, piece_bytes(base, payload, {8, 8}), t0));
        CHECK_FALSE(feed(r, piece_bytes(base, payload, {32, 32}), t0));
        CHECK(r.counters().datagrams_in_progress.get() == 1);
        CHECK(r.counters().oks.get() == 0);
    }
    CHECK(pool_in_use() == before);
}

TEST_CASE("Reassembly refuses malformed fragments without opening a datagram", "[ip]") {
    const unsigned before = pool_in_use();
    Reassembler r(small_limits());
    const Ipv4Repr base = base_header(11);
    const Bytes payload = pattern(100, 11);

    // MF set and 12 bytes: not a multiple of 8.
    Ipv4Repr odd = base;
    odd.more_fragments = true;
    CHECK_FALSE(feed(r, fragment_bytes(odd, std::span(payload).first(12)), t0));
    // No payload at all, as a middle and as a last fragment.
    Ipv4Repr empty = base;
    empty.more_fragments = true;
    empty.frag_offset = 8;
    CHECK_FALSE(feed(r, fragment_bytes(empty, {}), t0));
    empty.more_fragments = false;
    CHECK_FALSE(feed(r, fragment_bytes(empty, {}), t0));

    // A Repr that lies about the buffer: 100 bytes claimed, 40 present.
    {
        Ipv4Repr lying = base;
        lying.more_fragments = true;
        lying.payload_len = 96;
        const Bytes b = fragment_bytes(lying, std::span(payload).first(20));
        PacketBuf p = PacketBuf::alloc(mbuf_pool());
        REQUIRE(p.append_copy(b, mbuf_pool()));
        CHECK_FALSE(r.input(std::move(p), lying, t0));
    }
    // A Repr that did not come from parse(): ends past 65535.
    {
        Ipv4Repr big = base;
        big.frag_offset = 65528;
        big.payload_len = 16;
        const Bytes b = fragment_bytes(big, std::span(payload).first(16));
        PacketBuf p = PacketBuf::alloc(mbuf_pool());
        REQUIRE(p.append_copy(b, mbuf_pool()));
        CHECK_FALSE(r.input(std::move(p), big, t0));
    }
    CHECK(r.counters().malformed.get() == 5);
    CHECK(r.counters().fails.get() == 5);
    CHECK(r.counters().reqds.get() == 5);
    CHECK(r.counters().datagrams_in_progress.get() == 0);
    CHECK(pool_in_use() == before);
}

TEST_CASE("Reassembly passes a packet that is not a fragment through", "[ip]") {
    const unsigned before = pool_in_use();
    {
        Reassembler r(small_limits());
        const Bytes payload = pattern(30, 3);
        const Bytes b = fragment_bytes(base_header(3), payload);
        const PacketBuf d = feed(r, b, t0);
        REQUIRE(d);
        CHECK(contents(d) == b);
        CHECK(r.counters().reqds.get() == 0);
    }
    CHECK(pool_in_use() == before);
}

TEST_CASE("Reassembly drops datagrams whose end is inconsistent", "[ip]") {
    const unsigned before = pool_in_use();
    const Ipv4Repr base = base_header(21);
    const Bytes payload = pattern(200, 21);
    Reassembler r(small_limits());

    SECTION("a second last fragment with another end") {
        CHECK_FALSE(feed(r, piece_bytes(base, payload, {160, 40}), t0));  // ends at 200, MF=0
        Ipv4Repr other = base;
        other.frag_offset = 96;  // MF=0, ends at 100
        CHECK_FALSE(feed(r, fragment_bytes(other, std::span(payload).subspan(96, 4)), t0));
    }
    SECTION("a fragment past the known end") {
        CHECK_FALSE(feed(r, piece_bytes(base, payload, {160, 40}), t0));
        Ipv4Repr past = base;
        past.frag_offset = 200;
        past.more_fragments = true;
        CHECK_FALSE(feed(r, fragment_bytes(past, std::span(payload).first(8)), t0));
    }
    SECTION("a last fragment ending before data already held") {
        CHECK_FALSE(feed(r, piece_bytes(base, payload, {96, 64}), t0));  // MF=1, ends at 160
        Ipv4Repr early = base;
        early.frag_offset = 8;  // MF=0: the datagram would end at 18
        CHECK_FALSE(feed(r, fragment_bytes(early, std::span(payload).subspan(8, 10)), t0));
    }
    CHECK(r.counters().inconsistent_end.get() == 1);
    CHECK(r.counters().fails.get() == 1);
    CHECK(r.counters().datagrams_in_progress.get() == 0);
    CHECK(r.counters().memory_in_use.get() == 0);
    CHECK(pool_in_use() == before);
}

TEST_CASE("Reassembly expires datagrams from their first fragment and reports fragment zero", "[ip]") {
    const unsigned before = pool_in_use();
    {
        Reassembler r(small_limits());
        CHECK(r.next_expiry() == Instant::max());
        const Ipv4Repr with_zero = base_header(31);
        const Ipv4Repr without_zero = base_header(32);
        const Bytes payload = pattern(3000, 31);
        const auto p = split(3000, 1480);
        const Bytes first = piece_bytes(with_zero, payload, p[0]);
        CHECK_FALSE(feed(r, first, t0));
        CHECK_FALSE(feed(r, piece_bytes(without_zero, payload, p[1]), t0 + Duration::from_s(5)));
        CHECK(r.next_expiry() == t0 + Duration::from_s(30));
        // A later fragment does not extend the datagram's life.
        CHECK_FALSE(feed(r, piece_bytes(with_zero, payload, p[1]), t0 + Duration::from_s(20)));
        CHECK(r.next_expiry() == t0 + Duration::from_s(30));

        std::vector<Bytes> reported;
        auto on_timeout = [&](const PacketBuf& f) { reported.push_back(contents(f)); };
        r.expire(t0 + Duration::from_s(30) - Duration::from_ns(1), on_timeout);
        CHECK(reported.empty());
        CHECK(r.counters().datagrams_in_progress.get() == 2);

        r.expire(t0 + Duration::from_s(30), on_timeout);
        REQUIRE(reported.size() == 1);
        CHECK(reported[0] == first);  // header first, as ICMP time exceeded quotes it
        CHECK(r.counters().timeouts.get() == 1);
        CHECK(r.counters().fails.get() == 1);
        CHECK(r.counters().datagrams_in_progress.get() == 1);
        CHECK(r.next_expiry() == t0 + Duration::from_s(35));

        // No offset-0 fragment: dropped without a report (RFC 792: no time exceeded then).
        r.expire(t0 + Duration::from_s(100), on_timeout);
        CHECK(reported.size() == 1);
        CHECK(r.counters().timeouts.get() == 2);
        CHECK(r.counters().datagrams_in_progress.get() == 0);
        CHECK(r.counters().memory_in_use.get() == 0);
        CHECK(r.next_expiry() == Instant::max());
        CHECK(pool_in_use() == before);

        // A custom timeout, and the callback-less overload.
        ReassemblyLimits quick = small_limits();
        quick.timeout = Duration::from_ms(250);
        Reassembler q(quick);
        CHECK_FALSE(feed(q, first, t0));
        CHECK(q.next_expiry() == t0 + Duration::from_ms(250));
        q.expire(t0 + Duration::from_ms(250));
        CHECK(q.counters().timeouts.get() == 1);
    }
    CHECK(pool_in_use() == before);
}

TEST_CASE("Reassembly evicts the oldest datagrams at the memory cap", "[ip]") {
    const unsigned before = pool_in_use();
    {
        constexpr std::size_t mbuf = RTE_MBUF_DEFAULT_BUF_SIZE;  // one fragment's footprint
        ReassemblyLimits l = small_limits();
        l.memory_cap = 3 * mbuf;
        Reassembler r(l);
        const Bytes payload = pattern(1000, 41);
        const auto p = split(1000, 504);  // two fragments each
        // Three datagrams, half each: the cap is reached.
        for (std::uint16_t id = 1; id <= 3; ++id) {
            CHECK_FALSE(feed(r, piece_bytes(base_header(id), payload, p[0]), t0 + Duration::from_s(id)));
        }
        CHECK(r.counters().memory_in_use.get() == 3 * mbuf);
        CHECK(r.counters().evictions.get() == 0);

        // A fourth datagram evicts the oldest (ident 1) and is accepted.
        CHECK_FALSE(feed(r, piece_bytes(base_header(4), payload, p[0]), t0 + Duration::from_s(4)));
        CHECK(r.counters().evictions.get() == 1);
        CHECK(r.counters().fails.get() == 1);
        CHECK(r.counters().memory_in_use.get() == 3 * mbuf);
        CHECK(r.next_expiry() == t0 + Duration::from_s(2 + 30));

        // Ident 3's second half completes it and so needs no room: nothing is evicted.
        check_datagram(feed(r, piece_bytes(base_header(3), payload, p[1]), t0 + Duration::from_s(5)),
                       base_header(3), payload);
        CHECK(r.counters().evictions.get() == 1);
        CHECK(r.counters().memory_in_use.get() == 2 * mbuf);

        // Ident 1's second half finds nothing to join: a new datagram, which fits.
        CHECK_FALSE(feed(r, piece_bytes(base_header(1), payload, p[1]), t0 + Duration::from_s(6)));
        CHECK(r.counters().datagrams_in_progress.get() == 3);
        CHECK(r.counters().memory_in_use.get() == 3 * mbuf);

        // The next newcomer evicts ident 2, now the oldest, and not the younger 4 and 1.
        CHECK_FALSE(feed(r, piece_bytes(base_header(5), payload, p[0]), t0 + Duration::from_s(7)));
        CHECK(r.counters().evictions.get() == 2);
        CHECK(r.next_expiry() == t0 + Duration::from_s(4 + 30));
        check_datagram(feed(r, piece_bytes(base_header(4), payload, p[1]), t0 + Duration::from_s(8)),
                       base_header(4), payload);
        CHECK_FALSE(feed(r, piece_bytes(base_header(2), payload, p[1]), t0 + Duration::from_s(9)));
        CHECK(r.counters().oks.get() == 2);
    }
    CHECK(pool_in_use() == before);
}

TEST_CASE("Reassembly drops a datagram that cannot fit under the cap even alone", "[ip]") {
    const unsigned before = pool_in_use();
    {
        ReassemblyLimits l = small_limits();
        l.memory_cap = 2 * RTE_MBUF_DEFAULT_BUF_SIZE;
        Reassembler r(l);
        const Bytes other = pattern(16, 1);
        CHECK_FALSE(feed(r, piece_bytes(base_header(50), other, {0, 8}), t0));  // a bystander
        const Bytes payload = pattern(3000, 51);
        const auto p = split(3000, 752);  // four pieces: the datagram never completes
        CHECK_FALSE(feed(r, piece_bytes(base_header(51), payload, p[0]), t0));
        CHECK(r.counters().evictions.get() == 0);
        CHECK_FALSE(feed(r, piece_bytes(base_header(51), payload, p[1]), t0));  // evicts 50
        CHECK(r.counters().evictions.get() == 1);
        CHECK(r.counters().datagrams_in_progress.get() == 1);
        CHECK(r.counters().memory_in_use.get() == 2 * std::size_t{RTE_MBUF_DEFAULT_BUF_SIZE});
        // The third piece would make it 3 mbufs against a cap of 2: no eviction of others
        // can help, so the datagram goes.
        CHECK(r.counters().datagrams_in_progress.get() == 1);
        CHECK_FALSE(feed(r, piece_bytes(base_header(51), payload, p[2]), t0));
        CHECK(r.counters().evictions.get() == 2);
        CHECK(r.counters().datagrams_in_progress.get() == 0);
        CHECK(r.counters().memory_in_use.get() == 0);
    }
    CHECK(pool_in_use() == before);
}

TEST_CASE("Reassembly evicts the oldest datagram when every slot is taken", "[ip]") {
    const unsigned before = pool_in_use();
    {
        ReassemblyLimits l;
        l.max_datagrams = 2;
        Reassembler r(l);
        const Bytes payload = pattern(16, 61);
        const auto p = split(16, 8);
        CHECK_FALSE(feed(r, piece_bytes(base_header(1), payload, p[0]), t0));
        CHECK_FALSE(feed(r, piece_bytes(base_header(2), payload, p[0]), t0 + Duration::from_s(1)));
        CHECK_FALSE(feed(r, piece_bytes(base_header(3), payload, p[0]), t0 + Duration::from_s(2)));
        CHECK(r.counters().evictions.get() == 1);
        CHECK(r.counters().datagrams_in_progress.get() == 2);
        check_datagram(feed(r, piece_bytes(base_header(2), payload, p[1]), t0), base_header(2), payload);
        check_datagram(feed(r, piece_bytes(base_header(3), payload, p[1]), t0), base_header(3), payload);
        CHECK_FALSE(feed(r, piece_bytes(base_header(1), payload, p[1]), t0));  // 1 is gone
        CHECK(r.counters().oks.get() == 2);
    }
    CHECK(pool_in_use() == before);
}

TEST_CASE("Reassembly caps the fragments of one datagram", "[ip]") {
    const unsigned before = pool_in_use();
    {
        ReassemblyLimits l = small_limits();
        l.max_fragments_per_datagram = 4;
        Reassembler r(l);
        const Bytes four = pattern(32, 71);
        const auto p4 = split(32, 8);
        for (std::size_t i = 0; i < 3; ++i) CHECK_FALSE(feed(r, piece_bytes(base_header(71), four, p4[i]), t0));
        check_datagram(feed(r, piece_bytes(base_header(71), four, p4[3]), t0), base_header(71), four);

        const Bytes five = pattern(40, 72);
        const auto p5 = split(40, 8);
        for (std::size_t i = 0; i < 4; ++i) CHECK_FALSE(feed(r, piece_bytes(base_header(72), five, p5[i]), t0));
        // A duplicate at the cap is still only a duplicate.
        CHECK_FALSE(feed(r, piece_bytes(base_header(72), five, p5[1]), t0));
        CHECK(r.counters().duplicates.get() == 1);
        CHECK(r.counters().datagrams_in_progress.get() == 1);
        CHECK_FALSE(feed(r, piece_bytes(base_header(72), five, p5[4]), t0));
        CHECK(r.counters().too_many_fragments.get() == 1);
        CHECK(r.counters().fails.get() == 1);
        CHECK(r.counters().datagrams_in_progress.get() == 0);
    }
    CHECK(pool_in_use() == before);
}

TEST_CASE("Reassembly refuses datagrams over 65535 bytes", "[ip]") {
    const unsigned before = pool_in_use();
    // 40 bytes of options on fragment zero: a header of 60. A last fragment ending at
    // 65492 passes Ipv4Repr::parse (20 + 65492 <= 65535) but 60 + 65492 does not fit.
    const Bytes options(40, 0x01);  // NOPs
    const Bytes payload = pattern(65492, 81);
    const Piece first{0, 8};
    const Piece last{65472, 20};
    const Ipv4Repr base = base_header(81);
    Reassembler r(small_limits());
    SECTION("fragment zero first") {
        CHECK_FALSE(feed(r, piece_bytes(base, payload, first, options), t0));
        CHECK_FALSE(feed(r, piece_bytes(base, payload, last), t0));
    }
    SECTION("fragment zero last") {
        CHECK_FALSE(feed(r, piece_bytes(base, payload, last), t0));
        CHECK(r.counters().datagrams_in_progress.get() == 1);  // fine with a 20-byte header
        CHECK_FALSE(feed(r, piece_bytes(base, payload, first, options), t0));
    }
    CHECK(r.counters().too_big.get() == 1);
    CHECK(r.counters().fails.get() == 1);
    CHECK(r.counters().datagrams_in_progress.get() == 0);
    CHECK(r.counters().memory_in_use.get() == 0);
    CHECK(pool_in_use() == before);
}

TEST_CASE("Reassembly keeps interleaved datagrams apart by their key", "[ip]") {
    const unsigned before = pool_in_use();
    {
        Reassembler r(small_limits(), 0x1234'5678'9abc'def0);
        // Same ident under different keys, and different idents under one key.
        const Ipv4Repr headers[] = {
            base_header(100),
            base_header(101),
            base_header(100, IpProtocol::icmp),
            base_header(100, IpProtocol::udp, Ipv4Address(192, 0, 2, 99)),
        };
        std::vector<Bytes> payloads;
        std::vector<std::vector<Piece>> pieces;
        for (std::uint32_t i = 0; i < 4; ++i) {
            payloads.push_back(pattern(2000 + 500 * i, 100 + i));
            pieces.push_back(split(static_cast<std::uint32_t>(payloads[i].size()), 576));
        }
        // Round robin over the datagrams, each piece list reversed so that no datagram is
        // complete before the last round.
        std::vector<PacketBuf> done(4);
        for (std::size_t round = 0; round < 7; ++round) {
            for (std::size_t i = 0; i < 4; ++i) {
                if (round >= pieces[i].size()) continue;
                const Piece piece = pieces[i][pieces[i].size() - 1 - round];
                PacketBuf d = feed(r, piece_bytes(headers[i], payloads[i], piece), t0);
                if (d) done[i] = std::move(d);
            }
        }
        for (std::size_t i = 0; i < 4; ++i) {
            CAPTURE(i);
            check_datagram(done[i], headers[i], payloads[i]);
        }
        CHECK(r.counters().oks.get() == 4);
        CHECK(r.counters().fails.get() == 0);
        CHECK(r.counters().overlaps.get() == 0);
    }
    CHECK(pool_in_use() == before);
}

TEST_CASE("Reassembly trims link padding and clears the L4 checksum verdict", "[ip]") {
    const unsigned before = pool_in_use();
    {
        Reassembler r(small_limits());
        const Ipv4Repr base = base_header(91);
        const Bytes payload = pattern(24, 91);
        const auto p = split(24, 16);
        // The offset-0 fragment arrives with 6 bytes of Ethernet padding and a port's
        // "L4 checksum good" (which cannot cover the whole datagram).
        Bytes first = piece_bytes(base, payload, p[0]);
        const auto ip = Ipv4Repr::parse(first);
        REQUIRE(ip.ok());
        first.insert(first.end(), 6, 0xee);
        PacketBuf f = PacketBuf::alloc(mbuf_pool());
        REQUIRE(f.append_copy(first, mbuf_pool()));
        f.get()->ol_flags |= RTE_MBUF_F_RX_L4_CKSUM_GOOD;
        CHECK_FALSE(r.input(std::move(f), *ip, t0));
        const PacketBuf d = feed(r, piece_bytes(base, payload, p[1]), t0);
        check_datagram(d, base, payload);
        CHECK(d.rx_l4_checksum() == RxChecksum::unknown);
    }
    CHECK(pool_in_use() == before);
}

TEST_CASE("Reassembler frees held fragments when destroyed and checks its limits", "[ip]") {
    const unsigned before = pool_in_use();
    {
        Reassembler r(small_limits());
        const Bytes payload = pattern(3000, 95);
        CHECK_FALSE(feed(r, piece_bytes(base_header(95), payload, {0, 1480}), t0));
        CHECK_FALSE(feed(r, piece_bytes(base_header(96), payload, {1480, 1480}), t0));
        CHECK(pool_in_use() == before + 2);
    }
    CHECK(pool_in_use() == before);
    ReassemblyLimits bad;
    bad.max_datagrams = 0;
    CHECK_THROWS_AS(Reassembler(bad), std::invalid_argument);
    bad = {};
    bad.max_fragments_per_datagram = 9000;
    CHECK_THROWS_AS(Reassembler(bad), std::invalid_argument);
}
