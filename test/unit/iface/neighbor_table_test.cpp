#include <catch2/catch.hpp>

#include <map>
#include <random>
#include <set>
#include <vector>

#include "forge.hpp"
#include "iface/neighbor_table.hpp"

using pollux::buf::PacketBuf;
using pollux::iface::Neighbor;
using pollux::iface::NeighborState;
using pollux::iface::NeighborTable;
using pollux::time::Duration;
using pollux::time::Instant;
using pollux::wire::Ipv4Address;
using namespace pollux::test::forge;

namespace {

const Instant t0 = Instant::from_ns(5'000'000'000);

// A one-byte packet whose byte tells which one it is.
PacketBuf tagged(std::uint8_t tag) {
    const std::uint8_t b[1] = {tag};
    return packet(b);
}

// The buffer footprint of one tagged() packet (one mbuf): the unit the tests count the
// pending limit in, so they hold whatever the pool's mbuf size is.
std::size_t unit() { return tagged(0).buffer_footprint(); }

// A packet of `segments` one-byte mbufs, all tagged `tag`: `segments` units of footprint.
PacketBuf tagged_chain(std::uint8_t tag, std::size_t segments) {
    const Bytes b(segments, tag);
    return chained(b, std::vector<std::size_t>(segments - 1, 1));
}

std::vector<std::uint8_t> drain_tags(NeighborTable& t, Neighbor& n) {
    std::vector<std::uint8_t> tags;
    t.drain_pending(n, [&](PacketBuf&& p) { tags.push_back(contents(p).at(0)); });
    return tags;
}

// The home bucket NeighborTable::bucket_of gives `a` in an index of `buckets` (Fibonacci
// hashing, the top half of the 64-bit product). Used only to pick addresses that collide;
// if the table hashes differently the tests still check correctness, with fewer collisions.
std::size_t home_bucket(Ipv4Address a, std::size_t buckets) {
    const std::uint64_t h = std::uint64_t{a.value()} * 0x9e3779b97f4a7c15ull;
    return static_cast<std::size_t>(h >> 32) & (buckets - 1);
}

// The first `n` addresses from 198.18.0.1 up whose home bucket is `bucket`.
std::vector<Ipv4Address> colliding(std::size_t n, std::size_t buckets, std::size_t bucket) {
    std::vector<Ipv4Address> out;
    for (std::uint32_t v = Ipv4Address(198, 18, 0, 1).value(); out.size() < n; ++v) {
        const Ipv4Address a(v);
        if (home_bucket(a, buckets) == bucket) out.push_back(a);
    }
    return out;
}

}  // namespace

TEST_CASE("NeighborTable: create, find, remove", "[iface][arp]") {
    NeighborTable t(8, 4 * unit());
    CHECK(t.capacity() == 8);
    CHECK(t.pending_bytes_per_neighbor() == 4 * unit());
    CHECK(t.size() == 0);
    CHECK(t.find(ip(0, 1)) == nullptr);

    Neighbor& n = t.create(ip(0, 1), t0);
    CHECK(n.ip == ip(0, 1));
    CHECK(n.state == NeighborState::incomplete);
    CHECK(n.in_use);
    CHECK(n.used_at == t0);
    CHECK(t.pending(n).empty());
    CHECK(t.pending(n).footprint() == 0);
    CHECK(t.size() == 1);
    CHECK(t.find(ip(0, 1)) == &n);
    CHECK(t.find(ip(0, 2)) == nullptr);

    Neighbor& m = t.create(ip(0, 2), t0);
    CHECK(&m != &n);
    CHECK(t.find(ip(0, 2)) == &m);
    CHECK(t.size() == 2);

    CHECK(t.remove(n) == 0);
    CHECK(t.size() == 1);
    CHECK(t.find(ip(0, 1)) == nullptr);
    CHECK(t.find(ip(0, 2)) == &m);

    std::size_t visited = 0;
    t.for_each([&](Neighbor& e) {
        ++visited;
        CHECK(e.ip == ip(0, 2));
    });
    CHECK(visited == 1);
}

TEST_CASE("NeighborTable: lookups stay right when every address collides", "[iface][arp]") {
    // Capacity 8 -> 16 buckets. Eight addresses with the same home bucket fill one probe
    // run of eight (wrapping past the end when the home is near it); removing from the
    // middle must backward-shift the rest so none becomes unreachable.
    for (std::size_t home : {std::size_t{3}, std::size_t{14}}) {
        NeighborTable t(8, unit());
        const auto addrs = colliding(8, 16, home);
        for (const auto& a : addrs) t.create(a, t0);
        REQUIRE(t.size() == 8);
        for (const auto& a : addrs) REQUIRE(t.find(a) != nullptr);

        // Remove in an order that punches holes at the start, middle and end of the run.
        const std::vector<std::size_t> order = {0, 4, 7, 2, 5, 1, 6, 3};
        std::set<std::size_t> gone;
        for (std::size_t i : order) {
            Neighbor* n = t.find(addrs[i]);
            REQUIRE(n != nullptr);
            t.remove(*n);
            gone.insert(i);
            for (std::size_t j = 0; j < addrs.size(); ++j) {
                Neighbor* f = t.find(addrs[j]);
                if (gone.count(j) != 0) {
                    CHECK(f == nullptr);
                } else {
                    REQUIRE(f != nullptr);
                    CHECK(f->ip == addrs[j]);
                }
            }
        }
        CHECK(t.size() == 0);
    }
}

TEST_CASE("NeighborTable: random creates and removes agree with a std::map model", "[iface][arp]") {
    // A small index (16 entries, 32 buckets) and addresses drawn from two colliding sets
    // plus a few random ones, so probe runs are long, overlap and wrap.
    std::mt19937 rng(20240611);
    NeighborTable t(16, 2 * unit());
    std::vector<Ipv4Address> universe = colliding(12, 32, 31);
    for (const auto& a : colliding(12, 32, 0)) universe.push_back(a);
    for (const auto& a : colliding(8, 32, 17)) universe.push_back(a);
    std::map<std::uint32_t, Neighbor*> model;

    for (int step = 0; step < 20000; ++step) {
        const Ipv4Address a = universe[rng() % universe.size()];
        const auto it = model.find(a.value());
        if (it == model.end()) {
            if (model.size() == t.capacity()) continue;  // eviction is tested on its own
            Neighbor& n = t.create(a, t0 + Duration::from_ms(step));
            model[a.value()] = &n;
        } else {
            Neighbor* n = t.find(a);
            REQUIRE(n == it->second);
            t.remove(*n);
            model.erase(it);
        }
        REQUIRE(t.size() == model.size());
        for (const auto& u : universe) {
            const auto m = model.find(u.value());
            Neighbor* f = t.find(u);
            if (m == model.end()) {
                REQUIRE(f == nullptr);
            } else {
                REQUIRE(f == m->second);
                REQUIRE(f->ip == u);
            }
        }
    }
}

TEST_CASE("NeighborTable: a full table evicts the least recently used resolved entry first", "[iface][arp]") {
    const unsigned before = pool_in_use();
    {
        NeighborTable t(4, 2 * unit());
        Neighbor& inc_old = t.create(ip(0, 1), t0);  // incomplete, oldest of all
        REQUIRE(t.enqueue_pending(inc_old, tagged(1)) == 0);
        Neighbor& r1 = t.create(ip(0, 2), t0 + Duration::from_s(1));
        Neighbor& r2 = t.create(ip(0, 3), t0 + Duration::from_s(2));
        Neighbor& r3 = t.create(ip(0, 4), t0 + Duration::from_s(3));
        r1.state = NeighborState::reachable;
        r2.state = NeighborState::stale;
        r3.state = NeighborState::reachable;
        r1.used_at = t0 + Duration::from_s(10);  // r1 used recently: r2 is now the LRU resolved
        CHECK(t.size() == 4);

        t.create(ip(0, 5), t0 + Duration::from_s(20));
        CHECK(t.size() == 4);
        CHECK(t.find(ip(0, 3)) == nullptr);  // r2 evicted
        CHECK(t.find(ip(0, 1)) != nullptr);  // the incomplete one survives though older
        CHECK(t.find(ip(0, 2)) != nullptr);
        CHECK(t.find(ip(0, 4)) != nullptr);
        CHECK(t.evicted_pending() == 0);

        // Next the LRU resolved is r3 (used at +3 s) over r1 (+10 s).
        t.create(ip(0, 6), t0 + Duration::from_s(21));
        CHECK(t.find(ip(0, 4)) == nullptr);
        CHECK(t.find(ip(0, 2)) != nullptr);

        // Only incomplete entries left besides r1: r1 goes, then the oldest incomplete.
        t.create(ip(0, 7), t0 + Duration::from_s(22));
        CHECK(t.find(ip(0, 2)) == nullptr);
        // All four incomplete now (0.1, 0.5, 0.6, 0.7): the LRU, 0.1, with its packet.
        t.create(ip(0, 8), t0 + Duration::from_s(23));
        CHECK(t.find(ip(0, 1)) == nullptr);
        CHECK(t.evicted_pending() == 1);
        CHECK(t.size() == 4);
        for (std::uint8_t d : {5, 6, 7, 8}) CHECK(t.find(ip(0, d)) != nullptr);
    }
    CHECK(pool_in_use() == before);
}

TEST_CASE("NeighborTable: the pending queue keeps arrival order and drops the oldest past its byte limit",
          "[iface][arp]") {
    const unsigned before = pool_in_use();
    {
        // Room for three one-mbuf packets and half of a fourth.
        NeighborTable t(2, 3 * unit() + unit() / 2);
        Neighbor& n = t.create(ip(0, 9), t0);
        Neighbor& other = t.create(ip(0, 10), t0);
        CHECK(t.enqueue_pending(n, tagged(1)) == 0);
        CHECK(t.enqueue_pending(n, tagged(2)) == 0);
        CHECK(t.enqueue_pending(other, tagged(100)) == 0);
        CHECK(t.enqueue_pending(n, tagged(3)) == 0);
        CHECK(t.pending(n).size() == 3);
        CHECK(t.pending(n).footprint() == 3 * unit());
        CHECK(pool_in_use() == before + 4);
        CHECK(t.enqueue_pending(n, tagged(4)) == 1);  // 1 dropped
        CHECK(t.enqueue_pending(n, tagged(5)) == 1);  // 2 dropped
        CHECK(t.pending(n).size() == 3);
        CHECK(t.pending(n).footprint() == 3 * unit());
        CHECK(pool_in_use() == before + 4);
        CHECK(drain_tags(t, n) == std::vector<std::uint8_t>{3, 4, 5});
        CHECK(t.pending(n).empty());
        CHECK(t.pending(n).footprint() == 0);
        CHECK(drain_tags(t, n).empty());
        // Drained, it keeps working.
        for (std::uint8_t i = 6; i <= 10; ++i) t.enqueue_pending(n, tagged(i));
        CHECK(drain_tags(t, n) == std::vector<std::uint8_t>{8, 9, 10});
        // The neighbour's queue is its own.
        CHECK(drain_tags(t, other) == std::vector<std::uint8_t>{100});
        CHECK(pool_in_use() == before);

        t.enqueue_pending(n, tagged(11));
        t.enqueue_pending(n, tagged(12));
        CHECK(t.remove(n) == 2);  // remove frees what waits
        CHECK(pool_in_use() == before);
        Neighbor& again = t.create(ip(0, 9), t0);
        CHECK(t.pending(again).empty());
        t.enqueue_pending(again, tagged(13));
    }
    CHECK(pool_in_use() == before);  // the destructor frees what still waits
}

TEST_CASE("NeighborTable: the limit is inclusive: a queue may fill it exactly", "[iface][arp]") {
    const unsigned before = pool_in_use();
    {
        NeighborTable exact(1, 2 * unit());
        Neighbor& n = exact.create(ip(0, 1), t0);
        CHECK(exact.enqueue_pending(n, tagged(1)) == 0);
        CHECK(exact.enqueue_pending(n, tagged(2)) == 0);  // 2 units == the limit: kept
        CHECK(exact.pending(n).footprint() == 2 * unit());
        CHECK(exact.enqueue_pending(n, tagged(3)) == 1);
        CHECK(drain_tags(exact, n) == std::vector<std::uint8_t>{2, 3});

        NeighborTable short_by_one(1, 2 * unit() - 1);
        Neighbor& m = short_by_one.create(ip(0, 1), t0);
        CHECK(short_by_one.enqueue_pending(m, tagged(1)) == 0);
        CHECK(short_by_one.enqueue_pending(m, tagged(2)) == 1);
        CHECK(drain_tags(short_by_one, m) == std::vector<std::uint8_t>{2});
    }
    CHECK(pool_in_use() == before);
}

TEST_CASE("NeighborTable: a large packet drops as many old ones as it needs, and makes room for many",
          "[iface][arp]") {
    const unsigned before = pool_in_use();
    {
        NeighborTable t(1, 4 * unit());
        Neighbor& n = t.create(ip(0, 1), t0);
        for (std::uint8_t i = 1; i <= 4; ++i) REQUIRE(t.enqueue_pending(n, tagged(i)) == 0);
        // 3 units more: 1, 2 and 3 go (4 + 3 > 4, 3 + 3 > 4, 2 + 3 > 4; 1 + 3 fits).
        CHECK(t.enqueue_pending(n, tagged_chain(5, 3)) == 3);
        CHECK(t.pending(n).size() == 2);
        CHECK(t.pending(n).footprint() == 4 * unit());
        CHECK(pool_in_use() == before + 4);
        // One small packet: the oldest, 4, goes; the large one stays.
        CHECK(t.enqueue_pending(n, tagged(6)) == 1);
        // Another: now the large one is the oldest and its three units go at once.
        CHECK(t.enqueue_pending(n, tagged(7)) == 1);
        CHECK(drain_tags(t, n) == std::vector<std::uint8_t>{6, 7});
    }
    CHECK(pool_in_use() == before);
}

TEST_CASE("NeighborTable: a packet larger than the limit on its own empties the queue and still waits",
          "[iface][arp]") {
    // Linux's __neigh_event_send: the drop loop ends on an empty queue and the tail insert
    // is unconditional, so the newest packet is never the one refused.
    const unsigned before = pool_in_use();
    {
        NeighborTable t(1, 2 * unit());
        Neighbor& n = t.create(ip(0, 1), t0);
        CHECK(t.enqueue_pending(n, tagged(1)) == 0);
        CHECK(t.enqueue_pending(n, tagged(2)) == 0);
        CHECK(t.enqueue_pending(n, tagged_chain(3, 5)) == 2);
        CHECK(t.pending(n).size() == 1);
        CHECK(t.pending(n).footprint() == 5 * unit());  // over the limit by that one packet
        CHECK(pool_in_use() == before + 5);
        // Alone, another oversized one replaces it.
        CHECK(t.enqueue_pending(n, tagged_chain(4, 3)) == 1);
        CHECK(t.pending(n).footprint() == 3 * unit());
        // And a small one after it pushes it out too: 3 + 1 > 2.
        CHECK(t.enqueue_pending(n, tagged(5)) == 1);
        CHECK(drain_tags(t, n) == std::vector<std::uint8_t>{5});
        CHECK(pool_in_use() == before);

        t.enqueue_pending(n, tagged_chain(6, 4));
        CHECK(t.remove(n) == 1);
        CHECK(pool_in_use() == before);
        Neighbor& again = t.create(ip(0, 2), t0);
        t.enqueue_pending(again, tagged_chain(7, 4));
    }
    CHECK(pool_in_use() == before);
}

TEST_CASE("NeighborTable: many queues full at once, then evicted or destroyed, return every mbuf",
          "[iface][arp]") {
    const unsigned before = pool_in_use();
    {
        NeighborTable t(4, 10 * unit());
        for (std::uint8_t e = 1; e <= 4; ++e) {
            Neighbor& n = t.create(ip(1, e), t0 + Duration::from_ms(e));
            for (std::uint8_t i = 0; i < 12; ++i) t.enqueue_pending(n, tagged(i));
            CHECK(t.pending(n).size() == 10);
        }
        CHECK(pool_in_use() == before + 40);
        // Full of incomplete entries: the least recently used, 1.1, goes with its 10.
        Neighbor& fresh = t.create(ip(1, 5), t0 + Duration::from_s(1));
        CHECK(t.evicted_pending() == 10);
        CHECK(t.find(ip(1, 1)) == nullptr);
        CHECK(t.pending(fresh).empty());  // the slot's queue starts empty for its new owner
        CHECK(pool_in_use() == before + 30);
    }
    CHECK(pool_in_use() == before);
}
