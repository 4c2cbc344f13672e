#include "ip/reassembly.hpp"

#include <algorithm>
#include <bit>
#include <stdexcept>

#include "wire/checksum.hpp"

namespace pollux::ip {

namespace {

// 65535 bytes hold at most 8192 eight-byte fragment payloads: a higher cap means nothing.
constexpr std::size_t max_fragments_limit = 8192;

const ReassemblyLimits& validated(const ReassemblyLimits& l) {
    if (l.memory_cap == 0 || l.max_fragments_per_datagram == 0 || l.max_datagrams == 0 ||
        l.timeout <= time::Duration::zero()) {
        throw std::invalid_argument("Reassembler: every limit must be positive");
    }
    if (l.max_fragments_per_datagram > max_fragments_limit || l.max_datagrams > (std::size_t{1} << 24)) {
        throw std::invalid_argument("Reassembler: limit out of range");
    }
    return l;
}

// Load factor at most one.
std::size_t bucket_count(std::size_t datagrams) { return std::bit_ceil(datagrams); }

// The 64-bit finaliser of SplitMix64: every input bit affects every output bit.
constexpr std::uint64_t mix(std::uint64_t x) noexcept {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

// The checks that need no datagram state. A Repr from Ipv4Repr::parse already passes the
// header ones; they are repeated because input() trusts nothing but `ip` for the layout.
bool well_formed(const buf::PacketBuf& f, const wire::Ipv4Repr& ip) noexcept {
    if (!f) return false;
    if (ip.header_len < wire::ipv4::min_header_len || ip.header_len > wire::ipv4::max_header_len) return false;
    // A fragment carries data (an empty one can only confuse the bookkeeping), and RFC 791
    // cuts every fragment but the last on an 8-byte boundary.
    if (ip.payload_len == 0) return false;
    if (ip.more_fragments && ip.payload_len % 8 != 0) return false;
    if (ip.frag_offset % 8 != 0) return false;
    if (std::size_t{ip.frag_offset} + ip.payload_len + wire::ipv4::min_header_len > wire::ipv4::max_packet_len) {
        return false;
    }
    if (f.length() < std::uint32_t{ip.header_len} + ip.payload_len) return false;
    // The header must sit in the first segment: it is adjusted away or rewritten there.
    return f.front().size() >= ip.header_len;
}

}  // namespace

std::size_t Reassembler::KeyHash::operator()(const Key& k) const noexcept {
    const std::uint64_t addrs = (std::uint64_t{k.src.value()} << 32) | k.dst.value();
    const std::uint64_t rest = (std::uint64_t{k.ident} << 8) | k.protocol;
    return static_cast<std::size_t>(mix(mix(addrs ^ seed) ^ rest));
}

Reassembler::Reassembler(const ReassemblyLimits& limits, std::uint64_t hash_seed)
    : limits_(validated(limits)),
      slots_(std::make_unique<Slot[]>(limits.max_datagrams)),
      fragments_(std::make_unique<Fragment[]>(limits.max_datagrams * limits.max_fragments_per_datagram)),
      buckets_(std::make_unique<Table::bucket_type[]>(bucket_count(limits.max_datagrams))),
      table_(Table::bucket_traits(buckets_.get(), bucket_count(limits.max_datagrams)), KeyHash{hash_seed}) {
    for (std::size_t i = 0; i < limits_.max_datagrams; ++i) {
        slots_[i].index = static_cast<std::uint32_t>(i);
        free_.push_back(slots_[i]);
    }
}

// The containers unlink every slot, then the fragment array frees every held mbuf.
Reassembler::~Reassembler() = default;

buf::PacketBuf Reassembler::input(buf::PacketBuf&& fragment, const wire::Ipv4Repr& ip,
                                  time::Instant now) noexcept {
    if (!ip.is_fragment()) return std::move(fragment);
    counters_.reqds.add();
    // Owned here from now on: every path that does not keep it frees it.
    buf::PacketBuf frag = std::move(fragment);
    if (!well_formed(frag, ip)) {
        counters_.malformed.add();
        counters_.fails.add();
        return {};
    }
    const std::uint32_t datagram_len = std::uint32_t{ip.header_len} + ip.payload_len;
    // Link padding left on would be taken for payload; cutting it costs nothing.
    if (frag.length() > datagram_len) frag.truncate(datagram_len);

    const std::uint32_t offset = ip.frag_offset;
    const std::uint32_t end = offset + ip.payload_len;
    const Key key{ip.src, ip.dst, ip.ident, static_cast<std::uint8_t>(ip.protocol)};
    Slot* s = find_or_open(key, now);

    std::size_t at = 0;
    DropReason reason = DropReason::overlap;
    switch (check(*s, ip, offset, end, at, reason)) {
        case Verdict::duplicate:
            counters_.duplicates.add();
            return {};
        case Verdict::drop_datagram:
            drop(*s, reason);
            return {};
        case Verdict::accept:
            break;
    }
    // A fragment that completes its datagram needs no room: the memory leaves the cache
    // with the datagram at once, and evicting a bystander for it would be a waste.
    const std::uint32_t known_total = ip.more_fragments ? s->total : end;
    const bool completes = (s->last_seen || !ip.more_fragments) && s->received + (end - offset) == known_total;
    const std::size_t footprint = frag.buffer_footprint();
    if (!completes && !make_room(*s, footprint)) {
        drop(*s, DropReason::eviction);
        return {};
    }
    insert(*s, at, std::move(frag), ip, offset, end, footprint);
    // Held fragments never overlap, so once the end is known the bytes held add up to it
    // exactly when every hole is filled (RFC 791's hole bookkeeping, by counting).
    if (s->last_seen && s->received == s->total) return assemble(*s);
    return {};
}

Reassembler::Slot* Reassembler::find_or_open(const Key& key, time::Instant now) noexcept {
    if (auto it = table_.find(key); it != table_.end()) return &*it;
    if (free_.empty()) drop(in_use_.front(), DropReason::eviction);  // the oldest makes way
    Slot& s = free_.front();
    free_.pop_front();
    s.key = key;
    s.created = now;
    s.first_ip = {};
    s.received = 0;
    s.max_end = 0;
    s.total = 0;
    s.footprint = 0;
    s.count = 0;
    s.first_header_len = 0;
    s.last_seen = false;
    in_use_.push_back(s);
    table_.insert(s);
    counters_.datagrams_in_progress.add();
    return &s;
}

Reassembler::Verdict Reassembler::check(const Slot& s, const wire::Ipv4Repr& ip, std::uint32_t offset,
                                        std::uint32_t end, std::size_t& insert_at,
                                        DropReason& reason) const noexcept {
    // RFC 791: the MF=0 fragment fixes the datagram's length; data past it, a second
    // length, or a length shorter than data already held cannot all be true.
    const bool bad_end = ip.more_fragments ? (s.last_seen && end > s.total)
                                           : ((s.last_seen && end != s.total) || end < s.max_end);
    if (bad_end) {
        reason = DropReason::inconsistent_end;
        return Verdict::drop_datagram;
    }
    // The datagram's header is the offset-0 fragment's (options included); until it has
    // come, assume the shortest.
    const std::uint32_t header = offset == 0 ? ip.header_len
                               : s.first_header_len != 0 ? s.first_header_len
                                                         : wire::ipv4::min_header_len;
    if (header + std::max(end, s.max_end) > wire::ipv4::max_packet_len) {
        reason = DropReason::too_big;
        return Verdict::drop_datagram;
    }
    // Held fragments are sorted by offset and disjoint. Scan from the back, since
    // fragments mostly arrive in order: i is the first fragment starting at or after
    // `offset`, so only i - 1 and i can overlap the new one.
    const Fragment* f = fragments_of(s);
    std::size_t i = s.count;
    while (i > 0 && f[i - 1].offset >= offset) --i;
    if (i < s.count && f[i].offset == offset && f[i].end == end) return Verdict::duplicate;
    if ((i > 0 && f[i - 1].end > offset) || (i < s.count && f[i].offset < end)) {
        reason = DropReason::overlap;  // RFC 5722 §4, as Linux applies it to IPv4
        return Verdict::drop_datagram;
    }
    if (s.count >= limits_.max_fragments_per_datagram) {
        reason = DropReason::too_many_fragments;
        return Verdict::drop_datagram;
    }
    insert_at = i;
    return Verdict::accept;
}

bool Reassembler::make_room(const Slot& s, std::size_t need) noexcept {
    // The datagram would pass the cap on its own: evicting others cannot save it.
    if (s.footprint + need > limits_.memory_cap) return false;
    while (memory_in_use_ + need > limits_.memory_cap) {
        // Oldest first, as Linux's evictor did: the oldest is the nearest to timing out
        // and, under a flood of incomplete datagrams, the most likely to be junk. `s` is
        // spared; some other slot holds memory, or the check above would have failed.
        auto victim = in_use_.begin();
        if (&*victim == &s) ++victim;
        drop(*victim, DropReason::eviction);
    }
    return true;
}

void Reassembler::insert(Slot& s, std::size_t at, buf::PacketBuf&& fragment, const wire::Ipv4Repr& ip,
                         std::uint32_t offset, std::uint32_t end, std::size_t footprint) noexcept {
    if (offset == 0) {
        s.first_header_len = ip.header_len;  // the header stays: the datagram's to be
        s.first_ip = ip;
    } else {
        fragment.adjust(ip.header_len);  // cannot fail: well_formed() saw it in one segment
    }
    Fragment* f = fragments_of(s);
    for (std::size_t j = s.count; j > at; --j) f[j] = std::move(f[j - 1]);
    f[at].buf = std::move(fragment);
    f[at].offset = static_cast<std::uint16_t>(offset);
    f[at].end = static_cast<std::uint16_t>(end);
    ++s.count;
    s.received += end - offset;
    s.max_end = std::max(s.max_end, end);
    if (!ip.more_fragments) {
        s.last_seen = true;
        s.total = end;
    }
    s.footprint += footprint;
    memory_in_use_ += footprint;
    counters_.memory_in_use.add(footprint);
}

buf::PacketBuf Reassembler::assemble(Slot& s) noexcept {
    Fragment* f = fragments_of(s);
    buf::PacketBuf whole = std::move(f[0].buf);
    for (std::size_t i = 1; i < s.count; ++i) {
        // Fails only past 65535 segments, which 8192 fragments of a few segments never are.
        if (!whole.chain(std::move(f[i].buf))) {
            drop(s, DropReason::too_many_fragments);
            return {};
        }
    }
    // The offset-0 fragment's header becomes the datagram's (RFC 791: "the header of the
    // first fragment"): its options stay, the length and fragmentation fields change.
    const std::uint8_t hl = s.first_header_len;
    wire::rewrite_reassembled_header(whole.front().first(hl), static_cast<std::uint16_t>(hl + s.total));
    whole.clear_rx_l4_checksum();

    counters_.oks.add();
    release(s);  // its fragment entries are empty now: nothing more is freed
    return whole;
}

Reassembler::Slot* Reassembler::oldest_expired(time::Instant now) noexcept {
    if (in_use_.empty()) return nullptr;
    Slot& oldest = in_use_.front();
    return now - oldest.created >= limits_.timeout ? &oldest : nullptr;
}

time::Instant Reassembler::next_expiry() const noexcept {
    return in_use_.empty() ? time::Instant::max() : in_use_.front().created + limits_.timeout;
}

void Reassembler::drop(Slot& s, DropReason reason) noexcept {
    counters_.fails.add();
    switch (reason) {
        case DropReason::timeout: counters_.timeouts.add(); break;
        case DropReason::overlap: counters_.overlaps.add(); break;
        case DropReason::inconsistent_end: counters_.inconsistent_end.add(); break;
        case DropReason::too_many_fragments: counters_.too_many_fragments.add(); break;
        case DropReason::too_big: counters_.too_big.add(); break;
        case DropReason::eviction: counters_.evictions.add(); break;
    }
    release(s);
}

void Reassembler::release(Slot& s) noexcept {
    Fragment* f = fragments_of(s);
    for (std::size_t i = 0; i < s.count; ++i) f[i].buf.reset();
    s.count = 0;
    memory_in_use_ -= s.footprint;
    counters_.memory_in_use.sub(s.footprint);
    s.footprint = 0;
    table_.erase(table_.iterator_to(s));
    in_use_.erase(in_use_.iterator_to(s));
    free_.push_back(s);
    counters_.datagrams_in_progress.sub();
}

}  // namespace pollux::ip
