// PortManager: the local ports of one transport protocol (UDP or TCP) on one shard. It
// decides who may bind which (address, port), picks ephemeral ports, and finds the socket
// an incoming datagram (UDP) or SYN (TCP listener) belongs to. The rules are Linux's;
// each is stated below with the kernel function it comes from.
//
// Contract
// - Who: one PortManager per protocol per shard; only the shard's thread calls it (the
//   socket layer serializes foreign callers before they get here). No lock.
// - Owners: a binding is registered under an opaque `Owner` (the socket's address). The
//   manager never dereferences it; lookup() hands it back.
// - Memory: bind-time calls (bind, connect_port, inherit, listen, set_connected,
//   clear_connected, release) may allocate. lookup() never allocates.
// - Cost of lookup(): one hash lookup by port, then a scan of that port's receivers. A
//   receiver is an unconnected socket, a connected socket, or a whole SO_REUSEPORT group
//   (which counts once, however many members it has); for TCP only listeners are
//   receivers, so thousands of accepted connections on port 80 cost a SYN nothing. The
//   member of a group is chosen in O(1) from the flow hash.
// - Cost of bind-time calls: O(bindings on the port); a port-0 bind or connect_port scans
//   the ephemeral range (at most 28,232 ports by default) until it finds a free one.
//
// Bind conflicts (Linux: net/ipv4/inet_connection_sock.c inet_bind_conflict() for TCP,
// net/ipv4/udp.c udp_lib_lport_inuse() for UDP). A new binding B conflicts with an
// existing binding E on the same port when their addresses overlap (equal, or either is
// 0.0.0.0) and neither exception applies:
//   (a) both have SO_REUSEADDR and E is not listening (TCP; a UDP binding never listens);
//   (b) both have SO_REUSEPORT. Linux also wants the same owning uid; pollux is a single
//       process, so that always holds.
// bind() fails with EADDRINUSE if B conflicts with any binding on the port.
// - listen() re-runs the check with the listener in LISTEN state (Linux re-calls
//   inet_csk_get_port() from inet_csk_listen_start()): of two SO_REUSEADDR sockets
//   sharing a port, the first may listen, the second then gets EADDRINUSE, and no new
//   SO_REUSEADDR socket can bind over the listener - unless SO_REUSEPORT covers them.
// - Port 0, TCP (inet_csk_find_open_port(), relax = false, reuseport_ok = false): the
//   chosen port must not overlap ANY existing binding, whatever its options.
// - Port 0, UDP (udp_lib_get_port() with its bitmap): the ordinary rule above, so a
//   SO_REUSEADDR or SO_REUSEPORT socket may be given a port it then shares.
// - Options are read when a later socket binds, as Linux reads sk_reuse/sk_reuseport
//   live: set_options() after bind changes what others may do (not group membership).
// - Deliberate difference: udp_lib_lport_inuse() stops at the first overlapping socket on
//   its hash chain, so a bind may succeed because a compatible SO_REUSEPORT socket sits
//   ahead of an incompatible one. pollux checks every binding (as TCP does), so the
//   answer does not depend on chain order.
//
// Privileged ports: pollux needs no privilege for ports below 1024. It is a user-space
// stack that owns its NIC; there are no other users on it to protect a port from, and the
// process is typically root anyway (CAP_NET_BIND_SERVICE, so Linux would allow it too).
// The default therefore equals Linux with net.ipv4.ip_unprivileged_port_start = 0;
// set_unprivileged_port_start(1024) restores Linux's default (EACCES below it).
//
// Ephemeral ports (RFC 6056): the range is Linux's ip_local_port_range, 32768-60999 by
// default. bind(port 0) uses RFC 6056 §3.3.1 Algorithm 1: a random start, then a scan
// upwards with wrap-around; exhaustion is EADDRINUSE. connect_port() (an implicit bind
// at connect time) uses §3.3.3 Algorithm 3: offset = SipHash-2-4(secret, local address,
// remote address, remote port) plus a per-table counter, so consecutive connections to
// one peer take consecutive ports while an off-path attacker cannot predict any of them;
// exhaustion is EADDRNOTAVAIL (Linux's __inet_hash_connect()). Linux also favours odd
// ports for bind(0) and even ones for connect(), and tries the lower half first for
// SO_REUSEADDR sockets; pollux does not (pure heuristics, not semantics).
//
// UDP receive lookup (Linux __udp4_lib_lookup(), udp4_lib_lookup2(), compute_score()):
// sockets bound to exactly the destination address are tried first and wildcard
// (0.0.0.0) ones only if none matches; within each, a connected socket whose remote
// address and port equal the datagram's source beats an unconnected one. A UDP connect()
// fixes a wildcard local address to the route's source (ip4_datagram_connect()), so in
// practice: connected > specific > wildcard. Equal candidates: the most recently bound
// wins (Linux inserts at the head of its chain), which is what SO_REUSEADDR UDP unicast
// does on Linux. A SO_REUSEPORT group (members with the same exact local address) is one
// candidate; the member is picked by reciprocal_scale(flow_hash, members) as Linux's
// reuseport_select_sock() does, so one flow always reaches the same socket. A member that
// connects leaves its group (Linux >= 6.13 udp_lib_hash4(); older kernels also detach it
// when connect() changes its address) and is reached only by its own flow from then on.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "wire/address.hpp"

namespace pollux::socket {

enum class Transport : std::uint8_t { udp, tcp };

// Who a binding belongs to: the socket object's address, never dereferenced here.
using Owner = const void*;

// The socket options that bear on binding (socket(7)).
struct BindOptions {
    bool reuse_addr = false;  // SO_REUSEADDR
    bool reuse_port = false;  // SO_REUSEPORT
};

struct BindResult {
    int error = 0;    // 0, or an errno value: EINVAL, EACCES, EADDRINUSE, EADDRNOTAVAIL
    wire::Port port;  // the port bound (the one chosen, for port 0); zero on error
};

// A copy of one binding, for getsockname() and tests.
struct BindingInfo {
    wire::Ipv4Address local;
    wire::Port port;
    BindOptions options;
    bool listening = false;
    bool connected = false;
    wire::Ipv4Address remote;
    wire::Port remote_port;
};

enum class DisconnectResult : std::uint8_t {
    not_bound,    // unknown owner
    still_bound,  // the port was bound explicitly and stays bound
    released,     // the port had been chosen automatically and is released (Linux)
};

// A non-owning reference to a callable `bool(wire::Port)` (a function_ref), or nothing.
// connect_port() calls it during the call only, so a temporary lambda is fine.
class TupleCheck {
public:
    TupleCheck() noexcept = default;
    template <typename F>
        requires(!std::is_same_v<std::remove_cvref_t<F>, TupleCheck> &&
                 std::is_invocable_r_v<bool, F&, wire::Port>)
    TupleCheck(F&& f) noexcept  // implicit, so a lambda can be passed straight in
        : ctx_(const_cast<void*>(static_cast<const void*>(std::addressof(f)))),
          call_([](void* ctx, wire::Port p) -> bool {
              return (*static_cast<std::remove_reference_t<F>*>(ctx))(p);
          }) {}

    explicit operator bool() const noexcept { return call_ != nullptr; }
    bool operator()(wire::Port p) const { return call_(ctx_, p); }

private:
    void* ctx_ = nullptr;
    bool (*call_)(void*, wire::Port) = nullptr;
};

class PortManager {
public:
    static constexpr std::uint16_t default_ephemeral_low = 32768;   // ip_local_port_range
    static constexpr std::uint16_t default_ephemeral_high = 60999;

    // `seed` keys every random choice (ephemeral starts, the RFC 6056 hash): equal seeds
    // give equal choices, which tests rely on. The runtime passes a random seed.
    PortManager(Transport transport, std::uint64_t seed);
    ~PortManager();
    PortManager(const PortManager&) = delete;
    PortManager& operator=(const PortManager&) = delete;

    Transport transport() const noexcept { return transport_; }

    // bind(2). Port 0 picks an ephemeral port. Errors, in Linux's order (__inet_bind()):
    // EACCES for a port below the unprivileged start; EINVAL when `owner` is null or
    // already bound; EADDRINUSE on a conflict or when no ephemeral port is free.
    // Whether `local` is an address of this host is the caller's check (EADDRNOTAVAIL).
    BindResult bind(Owner owner, wire::Ipv4Address local, wire::Port port, BindOptions options);

    // The implicit bind of connect() on an unbound socket (Linux __inet_hash_connect()):
    // binds `owner` to (local, chosen port), connected to (remote, remote_port). A port is
    // a candidate only if no explicit bind() holds it (whatever the address); the 4-tuple
    // must then be unique: `tuple_free(port)` decides if given (TCP passes its
    // established/TIME_WAIT check), otherwise no connection made here may have the same
    // 4-tuple. EINVAL when `owner` is null or bound; EADDRNOTAVAIL when no port fits.
    // Linux's UDP connect autobinds with bind(port 0) instead; the UDP layer should do so
    // and then call set_connected().
    BindResult connect_port(Owner owner, wire::Ipv4Address local, wire::Ipv4Address remote,
                            wire::Port remote_port, BindOptions options, TupleCheck tuple_free = {});

    // TCP: an accepted connection shares its listener's port without a conflict check
    // (Linux __inet_inherit_port()), with the listener's options. It then keeps the port
    // from being rebound without SO_REUSEADDR after the listener closes, as on Linux, for
    // as long as the TCP layer keeps the binding (through TIME_WAIT). EINVAL for an
    // unbound parent or a bound child, EOPNOTSUPP on UDP.
    int inherit(Owner child, Owner parent, wire::Ipv4Address local, wire::Ipv4Address remote,
                wire::Port remote_port);

    // TCP listen(2) on a bound socket: 0, or EADDRINUSE when a binding sharing the port
    // through SO_REUSEADDR alone (without SO_REUSEPORT) forbids it (see the header). A
    // listener joins the SO_REUSEPORT group of its address. EINVAL if `owner` is not
    // bound (the TCP layer autobinds with bind(port 0) first), EOPNOTSUPP on UDP.
    int listen(Owner owner);
    bool can_listen(Owner owner) const;

    // setsockopt(SO_REUSEADDR / SO_REUSEPORT) on a bound socket. False if not bound.
    bool set_options(Owner owner, BindOptions options);

    // connect(2) on a bound socket. A wildcard local address becomes `local` (the route's
    // source), a specific one is kept; the binding leaves its SO_REUSEPORT group. No
    // conflict check (Linux rehashes without one). False if not bound or listening.
    bool set_connected(Owner owner, wire::Ipv4Address local, wire::Ipv4Address remote,
                       wire::Port remote_port);
    // connect(AF_UNSPEC) (Linux __udp_disconnect()): forgets the remote; the local address
    // reverts to 0.0.0.0 unless bind() set it, and the port is released unless bind()
    // named it.
    DisconnectResult clear_connected(Owner owner);

    // close(2). False (and nothing changes) for an owner that is not bound.
    bool release(Owner owner);

    // The socket a datagram (dst_addr:dst_port <- src_addr:src_port) belongs to, or null.
    // `flow_hash` spreads flows over a SO_REUSEPORT group (the NIC's RSS hash will do).
    // On the TCP manager only listeners are considered (a SYN's lookup). No allocation.
    Owner lookup(wire::Ipv4Address dst_addr, wire::Port dst_port, wire::Ipv4Address src_addr,
                 wire::Port src_port, std::uint32_t flow_hash) const noexcept;

    // Every socket a broadcast datagram to dst_addr:dst_port reaches (Linux
    // __udp4_lib_mcast_deliver()): each binding, SO_REUSEPORT members one by one, whose
    // local address is dst_addr or the wildcard and which, if connected, is connected to
    // the source. Calls f(Owner) for each, in binding order. No allocation.
    template <typename F>
    void for_each_match(wire::Ipv4Address dst_addr, wire::Port dst_port, wire::Ipv4Address src_addr,
                        wire::Port src_port, F&& f) const {
        const auto it = ports_.find(dst_port.value());
        if (it == ports_.end()) return;
        for (const Binding* b : it->second.bindings) {
            if (is_receiver(*b) && rank(b->local, b->connected ? b : nullptr, dst_addr, src_addr, src_port) >= 0) {
                f(b->owner);
            }
        }
    }

    std::optional<BindingInfo> find(Owner owner) const;
    std::size_t size() const noexcept { return bindings_.size(); }

    // net.ipv4.ip_local_port_range. EINVAL (nothing changes) unless
    // 1 <= low <= high and low >= the unprivileged port start, as the sysctl checks.
    int set_ephemeral_range(std::uint16_t low, std::uint16_t high) noexcept;
    std::uint16_t ephemeral_low() const noexcept { return ephemeral_low_; }
    std::uint16_t ephemeral_high() const noexcept { return ephemeral_high_; }
    // net.ipv4.ip_unprivileged_port_start: explicit binds below it fail with EACCES.
    // EINVAL if it would exceed the ephemeral range's low end, as the sysctl checks.
    int set_unprivileged_port_start(std::uint16_t port) noexcept;

private:
    struct ReuseportGroup;

    struct Binding {
        Owner owner = nullptr;
        wire::Ipv4Address local;
        wire::Port port;
        BindOptions options;
        bool address_locked = false;  // bind() named the address (Linux SOCK_BINDADDR_LOCK)
        bool port_locked = false;     // bind() named the port (SOCK_BINDPORT_LOCK)
        bool implicit = false;        // made by connect_port() (Linux: fastreuse == -1)
        bool listening = false;
        bool connected = false;
        wire::Ipv4Address remote;
        wire::Port remote_port;
        ReuseportGroup* group = nullptr;
    };

    // Linux's struct sock_reuseport: members in join order; a leaver's slot is taken by
    // the last member (reuseport_detach_sock()).
    struct ReuseportGroup {
        wire::Ipv4Address local;
        std::vector<Binding*> members;
    };

    // One candidate of a port's lookup chain: a binding, or a whole group.
    struct Receiver {
        Binding* binding = nullptr;
        ReuseportGroup* group = nullptr;
    };

    struct PortEntry {
        std::vector<Binding*> bindings;    // every binding on the port, for conflict checks
        std::vector<Receiver> receivers;   // the lookup chain, oldest first
        std::vector<std::unique_ptr<ReuseportGroup>> groups;
        std::size_t explicit_count = 0;    // bindings not made by connect_port()
    };

    bool conflicts(const Binding& existing, wire::Ipv4Address local, BindOptions options,
                   bool autobind) const noexcept;
    bool port_free(wire::Port port, const Binding* self, wire::Ipv4Address local,
                   BindOptions options, bool autobind) const noexcept;
    std::optional<wire::Port> pick_ephemeral(wire::Ipv4Address local, BindOptions options);
    bool connect_candidate(wire::Port port, wire::Ipv4Address local, wire::Ipv4Address remote,
                           wire::Port remote_port, const TupleCheck& tuple_free) const;
    Binding& insert(Owner owner, const Binding& fields);
    bool is_receiver(const Binding& b) const noexcept {
        return transport_ == Transport::udp || b.listening;
    }
    void attach_receiver(PortEntry& entry, Binding& b);
    void detach_receiver(PortEntry& entry, Binding& b);
    static int rank(wire::Ipv4Address bound, const Binding* connected, wire::Ipv4Address dst,
                    wire::Ipv4Address src, wire::Port src_port) noexcept;
    std::uint32_t random32() noexcept;
    std::uint16_t ephemeral_count() const noexcept {
        return static_cast<std::uint16_t>(ephemeral_high_ - ephemeral_low_ + 1);
    }

    Transport transport_;
    std::uint16_t ephemeral_low_ = default_ephemeral_low;
    std::uint16_t ephemeral_high_ = default_ephemeral_high;
    std::uint16_t unprivileged_port_start_ = 0;
    // SipHash keys derived from the seed: one for the random stream, one for RFC 6056 F().
    std::uint64_t rng_key_[2];
    std::uint64_t hash_key_[2];
    std::uint64_t rng_counter_ = 0;
    std::uint32_t connect_counter_ = 0;  // RFC 6056 Algorithm 3 "next_ephemeral"
    std::unordered_map<Owner, std::unique_ptr<Binding>> bindings_;
    std::unordered_map<std::uint16_t, PortEntry> ports_;
};

namespace detail {
// SipHash-2-4 (Aumasson & Bernstein) of a message made of whole 64-bit little-endian
// words; the PRF behind the random stream and RFC 6056's F(). Exposed for its tests.
std::uint64_t siphash24(std::uint64_t k0, std::uint64_t k1,
                        std::span<const std::uint64_t> words) noexcept;
}  // namespace detail

}  // namespace pollux::socket
