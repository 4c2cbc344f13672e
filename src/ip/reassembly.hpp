// Reassembler: puts IPv4 fragments back together (RFC 791 §3.2, "reassembly"), with the
// hardening Linux applies to the same algorithm.
//
// Contract
// - Who: one Reassembler per shard; only that shard's thread calls it; no lock.
// - Memory: every table is allocated by the constructor (a fixed array of datagram slots,
//   each with room for max_fragments_per_datagram fragments, and the hash buckets).
//   input() and expire() never allocate; fragments are held as the PacketBufs they came
//   in, and a completed datagram is those same mbufs chained (zero copy).
// - Cost: input() is O(fragments of its datagram) (a sorted insert into <= 64 entries)
//   plus O(1) hash lookup; eviction and expiry pop the oldest datagram in O(1).
// - Time: the caller hands `now` in; a datagram times out `timeout` after its *first*
//   fragment arrived (later fragments do not extend its life, as in Linux and RFC 1122
//   §3.3.2's "reassembly timeout"). The caller arms a timer for next_expiry() and calls
//   expire() when it fires.
//
// Rules a fragment is held to (each drop is counted in ReassemblyCounters):
// - Malformed, the fragment alone is dropped: no payload; MF set and a payload that is not
//   a multiple of 8 (RFC 791: every fragment but the last carries 8-byte units); the
//   buffer shorter than the header says, or its header not in the first segment.
// - An exact duplicate (same offset, same end) is dropped alone; the datagram goes on.
// - Overlap: any other fragment that overlaps one already held drops the whole datagram.
//   RFC 5722 mandates this for IPv6; Linux applies it to IPv4 too (since 2018), because
//   overlapping fragments only ever serve to slip data past a filter.
// - A last fragment (MF=0) whose end differs from a known end, or ends before data
//   already held; a fragment past a known end: the datagram is inconsistent and dropped.
// - More than max_fragments_per_datagram fragments, or header + payload over 65535 bytes
//   (RFC 791's limit; the "ping of death"): the datagram is dropped.
// - Memory: buffers held (PacketBuf::buffer_footprint(), the mbufs' buf_len, as Linux
//   counts skb truesize against ipfrag_high_thresh) may not pass memory_cap. A fragment
//   that would pass it evicts the oldest other datagrams until it fits; when it cannot
//   fit even alone with its own datagram, that datagram is dropped. A fragment that
//   completes its datagram is exempt (the memory is released at once). A full slot table
//   likewise evicts the oldest datagram to make room for a new one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include <boost/intrusive/list.hpp>
#include <boost/intrusive/unordered_set.hpp>

#include "buf/packet_buf.hpp"
#include "stats/counter.hpp"
#include "time/instant.hpp"
#include "wire/address.hpp"
#include "wire/ipv4.hpp"

namespace pollux::ip {

struct ReassemblyLimits {
    // Bytes of mbuf buffer held by incomplete datagrams (Linux: ipfrag_high_thresh, 4 MiB).
    std::size_t memory_cap = std::size_t{4} << 20;
    // A 65535-byte datagram over a 1500-byte MTU is 45 fragments; 64 leaves room for
    // smaller MTUs on the path while bounding the per-datagram work.
    std::size_t max_fragments_per_datagram = 64;
    // Linux: ipfrag_time, 30 s (RFC 1122 §3.3.2 recommends 60-120 s; Linux chose shorter).
    time::Duration timeout = time::Duration::from_s(30);
    // Datagrams in reassembly at once: the slot table's size.
    std::size_t max_datagrams = 1024;
};

// netstat -s style counters (RFC 4293 ipSystemStatsReasm*, Linux /proc/net/snmp), plus
// the reason of each drop. stats::Counter: the shard adds, telemetry may read any time.
struct ReassemblyCounters {
    stats::Counter reqds;     // ReasmReqds: fragments handed to input()
    stats::Counter oks;       // ReasmOKs: datagrams reassembled
    // ReasmFails: failures of any kind (RFC 4293): each datagram given up (timeout,
    // overlap, inconsistency, too many fragments, too big, eviction) and each malformed
    // fragment.
    stats::Counter fails;
    stats::Counter timeouts;            // ReasmTimeout: datagrams expired
    stats::Counter overlaps;            // ReasmOverlaps: datagrams dropped for an overlap
    stats::Counter duplicates;          // exact duplicate fragments dropped
    // Datagrams evicted for memory or a slot, and datagrams dropped because a fragment
    // of theirs could not fit under memory_cap even alone.
    stats::Counter evictions;
    stats::Counter malformed;           // fragments dropped as malformed
    stats::Counter inconsistent_end;    // datagrams dropped: conflicting or exceeded end
    stats::Counter too_many_fragments;  // datagrams dropped: over max_fragments_per_datagram
    stats::Counter too_big;             // datagrams dropped: over 65535 bytes
    stats::Counter memory_in_use;       // gauge: bytes of buffer held now
    stats::Counter datagrams_in_progress;  // gauge: slots in use now

    template <typename F>
    void visit(F&& f) const {
        f("ReasmReqds", reqds);
        f("ReasmOKs", oks);
        f("ReasmFails", fails);
        f("ReasmTimeout", timeouts);
        f("ReasmOverlaps", overlaps);
        f("ReasmDuplicates", duplicates);
        f("ReasmEvictions", evictions);
        f("ReasmMalformed", malformed);
        f("ReasmInconsistentEnd", inconsistent_end);
        f("ReasmTooManyFragments", too_many_fragments);
        f("ReasmTooBig", too_big);
        f("ReasmMemory", memory_in_use);
        f("ReasmDatagrams", datagrams_in_progress);
    }
};

class Reassembler {
public:
    // Allocates the tables. `hash_seed` keys the slot hash, so that a peer cannot predict
    // which (src, dst, protocol, ident) tuples share a bucket; give each shard a random one.
    // Throws std::invalid_argument when a limit is zero or absurd (more than 8192
    // fragments per datagram, more than 2^24 datagrams).
    explicit Reassembler(const ReassemblyLimits& limits = {}, std::uint64_t hash_seed = 0);
    ~Reassembler();
    Reassembler(const Reassembler&) = delete;
    Reassembler& operator=(const Reassembler&) = delete;

    // Takes one fragment: `fragment` starts at its IPv4 header (ip.header_len bytes, with
    // any options) and `ip` is that header parsed. Returns the whole datagram when this
    // fragment completes it, else an empty PacketBuf (the fragment is then held or, when
    // refused, freed). The datagram is the offset-0 fragment's header, options kept, with
    // total length, MF, offset and header checksum rewritten, followed by the payload as
    // a chain of the fragments' own mbufs. Its RX L4 checksum status is cleared (no port
    // saw the datagram whole). A packet that is not a fragment is returned as it came.
    buf::PacketBuf input(buf::PacketBuf&& fragment, const wire::Ipv4Repr& ip, time::Instant now) noexcept;

    // Drops every datagram whose first fragment arrived `timeout` or more before `now`.
    // For each one that holds its offset-0 fragment, calls on_timeout(const PacketBuf&)
    // with that fragment (IPv4 header first) before freeing it: RFC 792 and RFC 1122
    // §3.3.2 want an ICMP time exceeded (code 1, fragment reassembly time exceeded) sent
    // to the source then, and only then. The callback must not call back into this
    // Reassembler.
    template <typename OnTimeout>
    void expire(time::Instant now, OnTimeout&& on_timeout) {
        while (Slot* s = oldest_expired(now)) {
            if (s->first_header_len != 0) {
                const buf::PacketBuf& first = fragments_of(*s)[0].buf;
                on_timeout(first);
            }
            drop(*s, DropReason::timeout);
        }
    }
    void expire(time::Instant now) {
        expire(now, [](const buf::PacketBuf&) {});
    }
    // When the oldest datagram times out; Instant::max() when none is held.
    time::Instant next_expiry() const noexcept;

    const ReassemblyCounters& counters() const noexcept { return counters_; }
    const ReassemblyLimits& limits() const noexcept { return limits_; }

private:
    struct Key {
        wire::Ipv4Address src;
        wire::Ipv4Address dst;
        std::uint16_t ident = 0;
        std::uint8_t protocol = 0;
        bool operator==(const Key&) const noexcept = default;
    };

    // One held fragment: its payload bytes [offset, end) of the datagram. The offset-0
    // fragment keeps its IPv4 header in front (the datagram's header to be); the others
    // have theirs adjusted away on arrival.
    struct Fragment {
        buf::PacketBuf buf;
        std::uint16_t offset = 0;
        std::uint16_t end = 0;
    };

    using AgeHook = boost::intrusive::list_member_hook<>;
    using HashHook = boost::intrusive::unordered_set_member_hook<>;

    // One datagram in reassembly. Linked into the age list (oldest first) while in use,
    // into the free list otherwise (the same hook: the two are exclusive), and into the
    // hash while in use.
    struct Slot {
        AgeHook age_hook;
        HashHook hash_hook;
        Key key;
        time::Instant created;
        wire::Ipv4Repr first_ip;           // the offset-0 fragment's header, once it came
        std::uint32_t index = 0;           // where its fragments sit in fragments_
        std::uint32_t received = 0;        // payload bytes held
        std::uint32_t max_end = 0;         // the highest end held
        std::uint32_t total = 0;           // the datagram's payload length, once last_seen
        std::size_t footprint = 0;         // buffer bytes held
        std::uint16_t count = 0;           // fragments held
        std::uint8_t first_header_len = 0; // non-zero once the offset-0 fragment came
        bool last_seen = false;            // the MF=0 fragment came
    };

    struct KeyOf {
        using type = Key;
        const Key& operator()(const Slot& s) const noexcept { return s.key; }
    };
    struct KeyHash {
        std::uint64_t seed;
        std::size_t operator()(const Key& k) const noexcept;
    };

    using AgeList = boost::intrusive::list<
        Slot, boost::intrusive::member_hook<Slot, AgeHook, &Slot::age_hook>>;
    using Table = boost::intrusive::unordered_set<
        Slot, boost::intrusive::member_hook<Slot, HashHook, &Slot::hash_hook>,
        boost::intrusive::key_of_value<KeyOf>, boost::intrusive::hash<KeyHash>,
        boost::intrusive::power_2_buckets<true>>;

    enum class DropReason : std::uint8_t {
        timeout,
        overlap,
        inconsistent_end,
        too_many_fragments,
        too_big,
        eviction,  // for memory or for a slot
    };
    // What an arriving fragment means for its datagram.
    enum class Verdict : std::uint8_t { accept, duplicate, drop_datagram };

    Fragment* fragments_of(const Slot& s) const noexcept {
        return &fragments_[std::size_t{s.index} * limits_.max_fragments_per_datagram];
    }
    Slot* find_or_open(const Key& key, time::Instant now) noexcept;
    Verdict check(const Slot& s, const wire::Ipv4Repr& ip, std::uint32_t offset, std::uint32_t end,
                  std::size_t& insert_at, DropReason& reason) const noexcept;
    bool make_room(const Slot& s, std::size_t need) noexcept;
    void insert(Slot& s, std::size_t at, buf::PacketBuf&& fragment, const wire::Ipv4Repr& ip,
                std::uint32_t offset, std::uint32_t end, std::size_t footprint) noexcept;
    buf::PacketBuf assemble(Slot& s) noexcept;
    Slot* oldest_expired(time::Instant now) noexcept;
    void drop(Slot& s, DropReason reason) noexcept;
    void release(Slot& s) noexcept;

    ReassemblyLimits limits_;
    ReassemblyCounters counters_;
    std::size_t memory_in_use_ = 0;  // what counters_.memory_in_use shows; decisions use this
    // Declared before the intrusive containers, so those are destroyed (unlinking every
    // slot) before the slots and buckets they point into.
    std::unique_ptr<Slot[]> slots_;
    std::unique_ptr<Fragment[]> fragments_;
    std::unique_ptr<Table::bucket_type[]> buckets_;
    AgeList in_use_;  // oldest first; all slots share one timeout, so also expiry order
    AgeList free_;
    Table table_;
};

}  // namespace pollux::ip
