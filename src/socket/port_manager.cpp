#include "socket/port_manager.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cassert>
#include <cerrno>

namespace pollux::socket {

namespace detail {

namespace {

struct SipState {
    std::uint64_t v0, v1, v2, v3;

    void round() noexcept {
        v0 += v1;
        v1 = std::rotl(v1, 13);
        v1 ^= v0;
        v0 = std::rotl(v0, 32);
        v2 += v3;
        v3 = std::rotl(v3, 16);
        v3 ^= v2;
        v0 += v3;
        v3 = std::rotl(v3, 21);
        v3 ^= v0;
        v2 += v1;
        v1 = std::rotl(v1, 17);
        v1 ^= v2;
        v2 = std::rotl(v2, 32);
    }
    // Two compression rounds per message word: the "2" of SipHash-2-4.
    void compress(std::uint64_t m) noexcept {
        v3 ^= m;
        round();
        round();
        v0 ^= m;
    }
};

}  // namespace

std::uint64_t siphash24(std::uint64_t k0, std::uint64_t k1,
                        std::span<const std::uint64_t> words) noexcept {
    // The initialisation constants spell "somepseudorandomlygeneratedbytes".
    SipState s{k0 ^ 0x736f6d6570736575ull, k1 ^ 0x646f72616e646f6dull,
               k0 ^ 0x6c7967656e657261ull, k1 ^ 0x7465646279746573ull};
    for (const std::uint64_t m : words) s.compress(m);
    // The final block holds the message length in bytes (mod 256) in its top byte and no
    // tail bytes, since the message is whole words.
    s.compress(static_cast<std::uint64_t>(words.size() * 8) << 56);
    s.v2 ^= 0xff;
    for (int i = 0; i < 4; ++i) s.round();  // the "4": finalization rounds
    return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

}  // namespace detail

namespace {

// splitmix64: spreads one 64-bit seed into independent-looking key words.
std::uint64_t splitmix64(std::uint64_t& state) noexcept {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

// Linux's reciprocal_scale(): maps a 32-bit value uniformly onto [0, n) without a divide.
std::uint32_t reciprocal_scale(std::uint32_t value, std::uint32_t n) noexcept {
    return static_cast<std::uint32_t>((std::uint64_t{value} * n) >> 32);
}

bool addresses_overlap(wire::Ipv4Address a, wire::Ipv4Address b) noexcept {
    // inet_rcv_saddr_equal(..., match_wildcard = true)
    return a == b || a.is_unspecified() || b.is_unspecified();
}

}  // namespace

PortManager::PortManager(Transport transport, std::uint64_t seed) : transport_(transport) {
    std::uint64_t state = seed;
    rng_key_[0] = splitmix64(state);
    rng_key_[1] = splitmix64(state);
    hash_key_[0] = splitmix64(state);
    hash_key_[1] = splitmix64(state);
}

PortManager::~PortManager() = default;

std::uint32_t PortManager::random32() noexcept {
    // SipHash in counter mode: unpredictable without the key (unlike a Mersenne twister,
    // whose state an observer of enough ports could rebuild), reproducible with the seed.
    const std::uint64_t block[1] = {rng_counter_++};
    return static_cast<std::uint32_t>(detail::siphash24(rng_key_[0], rng_key_[1], block) >> 32);
}

int PortManager::set_ephemeral_range(std::uint16_t low, std::uint16_t high) noexcept {
    if (low == 0 || high < low || low < unprivileged_port_start_) return EINVAL;
    ephemeral_low_ = low;
    ephemeral_high_ = high;
    return 0;
}

int PortManager::set_unprivileged_port_start(std::uint16_t port) noexcept {
    if (port > ephemeral_low_) return EINVAL;
    unprivileged_port_start_ = port;
    return 0;
}

// Does a new binding (local, options) conflict with `existing`? See the header for the
// rules and the Linux functions they come from.
bool PortManager::conflicts(const Binding& existing, wire::Ipv4Address local, BindOptions options,
                            bool autobind) const noexcept {
    if (!addresses_overlap(existing.local, local)) return false;
    // inet_csk_find_open_port() checks with relax = false and reuseport_ok = false: for a
    // TCP port-0 bind every overlapping binding is a conflict.
    if (autobind && transport_ == Transport::tcp) return true;
    // (a) SO_REUSEADDR on both, and the existing socket is not a listener.
    if (options.reuse_addr && existing.options.reuse_addr && !existing.listening) return false;
    // (b) SO_REUSEPORT on both (same uid: always, in one process).
    if (options.reuse_port && existing.options.reuse_port) return false;
    return true;
}

bool PortManager::port_free(wire::Port port, const Binding* self, wire::Ipv4Address local,
                            BindOptions options, bool autobind) const noexcept {
    const auto it = ports_.find(port.value());
    if (it == ports_.end()) return true;
    return std::none_of(it->second.bindings.begin(), it->second.bindings.end(), [&](const Binding* b) {
        return b != self && conflicts(*b, local, options, autobind);
    });
}

// RFC 6056 §3.3.1 Algorithm 1 ("Simple Port Randomization"): a uniformly random first
// candidate, then the following ports with wrap-around, so a free port is found whenever
// one exists. Linux's udp_lib_get_port() and inet_csk_find_open_port() also start at a
// random offset.
std::optional<wire::Port> PortManager::pick_ephemeral(wire::Ipv4Address local, BindOptions options) {
    const std::uint32_t count = ephemeral_count();
    const std::uint32_t start = reciprocal_scale(random32(), count);
    for (std::uint32_t i = 0; i < count; ++i) {
        const wire::Port candidate(static_cast<std::uint16_t>(ephemeral_low_ + (start + i) % count));
        if (port_free(candidate, nullptr, local, options, true)) return candidate;
    }
    return std::nullopt;
}

PortManager::Binding& PortManager::insert(Owner owner, const Binding& fields) {
    auto [it, inserted] = bindings_.emplace(owner, std::make_unique<Binding>(fields));
    assert(inserted);
    Binding& b = *it->second;
    b.owner = owner;
    PortEntry& entry = ports_[b.port.value()];
    entry.bindings.push_back(&b);
    if (!b.implicit) ++entry.explicit_count;
    attach_receiver(entry, b);
    return b;
}

BindResult PortManager::bind(Owner owner, wire::Ipv4Address local, wire::Port port, BindOptions options) {
    if (owner == nullptr) return {EINVAL, {}};
    // __inet_bind() checks the privilege before the socket's state.
    if (!port.is_zero() && port.value() < unprivileged_port_start_) return {EACCES, {}};
    if (bindings_.contains(owner)) return {EINVAL, {}};  // "socket is already bound"

    wire::Port chosen = port;
    if (port.is_zero()) {
        const std::optional<wire::Port> p = pick_ephemeral(local, options);
        if (!p) return {EADDRINUSE, {}};
        chosen = *p;
    } else if (!port_free(port, nullptr, local, options, false)) {
        return {EADDRINUSE, {}};
    }

    Binding fields;
    fields.local = local;
    fields.port = chosen;
    fields.options = options;
    fields.address_locked = !local.is_unspecified();
    fields.port_locked = !port.is_zero();
    insert(owner, fields);
    return {0, chosen};
}

bool PortManager::connect_candidate(wire::Port port, wire::Ipv4Address local, wire::Ipv4Address remote,
                                    wire::Port remote_port, const TupleCheck& tuple_free) const {
    const auto it = ports_.find(port.value());
    if (it != ports_.end()) {
        // __inet_hash_connect() skips a port whose bind bucket a bind() created or joined
        // (fastreuse >= 0), on any address: connect() never takes a port that bind() holds.
        if (it->second.explicit_count > 0) return false;
        if (!tuple_free) {
            const bool duplicate = std::any_of(
                it->second.bindings.begin(), it->second.bindings.end(), [&](const Binding* b) {
                    return b->connected && b->local == local && b->remote == remote &&
                           b->remote_port == remote_port;
                });
            if (duplicate) return false;
        }
    }
    return !tuple_free || tuple_free(port);
}

// RFC 6056 §3.3.3 Algorithm 3 ("Simple Hash-Based Port Selection"):
//   offset = F(local_IP, remote_IP, remote_port, secret_key)
//   port   = min_ephemeral + (next_ephemeral + offset) % num_ephemeral; next_ephemeral++
// F is SipHash-2-4, as Linux's secure_ipv4_port_ephemeral() uses.
BindResult PortManager::connect_port(Owner owner, wire::Ipv4Address local, wire::Ipv4Address remote,
                                     wire::Port remote_port, BindOptions options, TupleCheck tuple_free) {
    if (owner == nullptr || bindings_.contains(owner)) return {EINVAL, {}};
    const std::uint64_t tuple[2] = {(std::uint64_t{local.value()} << 32) | remote.value(),
                                    remote_port.value()};
    const auto offset = static_cast<std::uint32_t>(detail::siphash24(hash_key_[0], hash_key_[1], tuple));
    const std::uint32_t count = ephemeral_count();
    for (std::uint32_t i = 0; i < count; ++i) {
        const std::uint32_t index = (static_cast<std::uint32_t>(offset % count) + connect_counter_ % count) % count;
        ++connect_counter_;
        const wire::Port candidate(static_cast<std::uint16_t>(ephemeral_low_ + index));
        if (!connect_candidate(candidate, local, remote, remote_port, tuple_free)) continue;

        Binding fields;
        fields.local = local;
        fields.port = candidate;
        fields.options = options;
        fields.implicit = true;
        fields.connected = true;
        fields.remote = remote;
        fields.remote_port = remote_port;
        insert(owner, fields);
        return {0, candidate};
    }
    return {EADDRNOTAVAIL, {}};
}

int PortManager::inherit(Owner child, Owner parent, wire::Ipv4Address local, wire::Ipv4Address remote,
                         wire::Port remote_port) {
    if (transport_ != Transport::tcp) return EOPNOTSUPP;
    const auto p = bindings_.find(parent);
    if (child == nullptr || p == bindings_.end() || bindings_.contains(child)) return EINVAL;
    Binding fields;
    fields.local = local;
    fields.port = p->second->port;
    fields.options = p->second->options;
    fields.address_locked = true;
    fields.port_locked = true;
    fields.connected = true;
    fields.remote = remote;
    fields.remote_port = remote_port;
    insert(child, fields);
    return 0;
}

bool PortManager::can_listen(Owner owner) const {
    const auto it = bindings_.find(owner);
    if (it == bindings_.end() || transport_ != Transport::tcp) return false;
    const Binding& b = *it->second;
    return b.listening || port_free(b.port, &b, b.local, b.options, false);
}

int PortManager::listen(Owner owner) {
    if (transport_ != Transport::tcp) return EOPNOTSUPP;
    const auto it = bindings_.find(owner);
    if (it == bindings_.end()) return EINVAL;
    Binding& b = *it->second;
    if (b.listening) return 0;  // listen() again only changes the backlog
    if (!can_listen(owner)) return EADDRINUSE;
    b.listening = true;
    attach_receiver(ports_.at(b.port.value()), b);
    return 0;
}

bool PortManager::set_options(Owner owner, BindOptions options) {
    const auto it = bindings_.find(owner);
    if (it == bindings_.end()) return false;
    it->second->options = options;
    return true;
}

void PortManager::attach_receiver(PortEntry& entry, Binding& b) {
    if (!is_receiver(b)) return;
    if (!b.options.reuse_port || b.connected) {
        entry.receivers.push_back({&b, nullptr});
        return;
    }
    // udp_reuseport_add_sock() / inet_reuseport_add_sock(): join the group of the same
    // exact local address (0.0.0.0 only matches 0.0.0.0), or start one.
    const auto g = std::find_if(entry.groups.begin(), entry.groups.end(),
                                [&](const auto& group) { return group->local == b.local; });
    ReuseportGroup* group = nullptr;
    if (g == entry.groups.end()) {
        entry.groups.push_back(std::make_unique<ReuseportGroup>());
        group = entry.groups.back().get();
        group->local = b.local;
    } else {
        group = g->get();
        // The group's place in the chain is its newest member's: Linux adds each member
        // at the head of the chain, and ties go to the entry met first.
        std::erase_if(entry.receivers, [&](const Receiver& r) { return r.group == group; });
    }
    entry.receivers.push_back({nullptr, group});
    group->members.push_back(&b);
    b.group = group;
}

void PortManager::detach_receiver(PortEntry& entry, Binding& b) {
    ReuseportGroup* group = b.group;
    if (group == nullptr) {
        std::erase_if(entry.receivers, [&](const Receiver& r) { return r.binding == &b; });
        return;
    }
    // reuseport_detach_sock(): the last member takes the leaver's slot.
    auto& members = group->members;
    *std::find(members.begin(), members.end(), &b) = members.back();
    members.pop_back();
    b.group = nullptr;
    if (members.empty()) {
        std::erase_if(entry.receivers, [&](const Receiver& r) { return r.group == group; });
        std::erase_if(entry.groups, [&](const auto& g) { return g.get() == group; });
    }
}

bool PortManager::set_connected(Owner owner, wire::Ipv4Address local, wire::Ipv4Address remote,
                                wire::Port remote_port) {
    const auto it = bindings_.find(owner);
    if (it == bindings_.end() || it->second->listening) return false;
    Binding& b = *it->second;
    PortEntry& entry = ports_.at(b.port.value());
    // Off the chain and out of its group; back on at the end (Linux hashes a connected
    // socket afresh, at the head of its chains).
    detach_receiver(entry, b);
    if (b.local.is_unspecified()) b.local = local;
    b.connected = true;
    b.remote = remote;
    b.remote_port = remote_port;
    attach_receiver(entry, b);
    return true;
}

DisconnectResult PortManager::clear_connected(Owner owner) {
    const auto it = bindings_.find(owner);
    if (it == bindings_.end()) return DisconnectResult::not_bound;
    Binding& b = *it->second;
    if (!b.port_locked) {
        release(owner);
        return DisconnectResult::released;
    }
    b.connected = false;
    b.remote = {};
    b.remote_port = {};
    if (!b.address_locked) b.local = {};
    // It stays on the chain as a lone socket, not back in a group: Linux's rehash
    // detaches from the group and never re-adds.
    return DisconnectResult::still_bound;
}

bool PortManager::release(Owner owner) {
    const auto it = bindings_.find(owner);
    if (it == bindings_.end()) return false;
    Binding& b = *it->second;
    const auto port_it = ports_.find(b.port.value());
    PortEntry& entry = port_it->second;
    detach_receiver(entry, b);
    std::erase(entry.bindings, &b);
    if (!b.implicit) --entry.explicit_count;
    if (entry.bindings.empty()) ports_.erase(port_it);
    bindings_.erase(it);
    return true;
}

// compute_score() folded with the two passes of __udp4_lib_lookup(): an exact local
// address outranks any wildcard match (4 > 2), and each matched remote field of a
// connected socket adds one. -1: no match.
int PortManager::rank(wire::Ipv4Address bound, const Binding* connected, wire::Ipv4Address dst,
                      wire::Ipv4Address src, wire::Port src_port) noexcept {
    int r = 0;
    if (bound == dst) {
        r = 4;
    } else if (!bound.is_unspecified()) {
        return -1;
    }
    if (connected != nullptr) {
        // A zero remote field is not checked, as Linux skips inet_daddr / inet_dport of 0.
        if (!connected->remote.is_unspecified()) {
            if (connected->remote != src) return -1;
            ++r;
        }
        if (!connected->remote_port.is_zero()) {
            if (connected->remote_port != src_port) return -1;
            ++r;
        }
    }
    return r;
}

Owner PortManager::lookup(wire::Ipv4Address dst_addr, wire::Port dst_port, wire::Ipv4Address src_addr,
                          wire::Port src_port, std::uint32_t flow_hash) const noexcept {
    const auto it = ports_.find(dst_port.value());
    if (it == ports_.end()) return nullptr;
    const Receiver* best = nullptr;
    int best_rank = -1;
    for (const Receiver& r : it->second.receivers) {
        const int score = r.group != nullptr
                              ? rank(r.group->local, nullptr, dst_addr, src_addr, src_port)
                              : rank(r.binding->local, r.binding->connected ? r.binding : nullptr,
                                     dst_addr, src_addr, src_port);
        // >=: of equal candidates the newest (latest in the chain) wins.
        if (score >= 0 && score >= best_rank) {
            best = &r;
            best_rank = score;
        }
    }
    if (best == nullptr) return nullptr;
    if (best->binding != nullptr) return best->binding->owner;
    const auto& members = best->group->members;
    return members[reciprocal_scale(flow_hash, static_cast<std::uint32_t>(members.size()))]->owner;
}

std::optional<BindingInfo> PortManager::find(Owner owner) const {
    const auto it = bindings_.find(owner);
    if (it == bindings_.end()) return std::nullopt;
    const Binding& b = *it->second;
    return BindingInfo{b.local, b.port, b.options, b.listening, b.connected, b.remote, b.remote_port};
}

}  // namespace pollux::socket
