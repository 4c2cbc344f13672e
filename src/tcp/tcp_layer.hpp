// TcpLayer: TCP for one shard — the receive demux (Linux tcp_v4_rcv: established 4-tuple
// first, then listeners), RST for segments to nothing (RFC 9293 §3.10.7.1), the listeners'
// SYN handling, the sockets' timers on the shard's wheel, and orphans (connections the
// application closed that still finish their close).
//
// Contract: only the owning shard's thread calls in.
#pragma once

#include <cstdint>
#include <memory>
#include <unordered_map>

#include "ip/ipv4_layer.hpp"
#include "ip/transport.hpp"
#include "socket/port_manager.hpp"
#include "stats/counter.hpp"
#include "tcp/isn.hpp"
#include "tcp/tcb.hpp"
#include "time/clock.hpp"
#include "time/timer_wheel.hpp"

namespace pollux::tcp {

class TcpSocket;

struct TcpLayerConfig {
    TcbConfig tcb;                     // per-connection defaults (the MSS follows the MTU)
    bool tx_checksum_offload = false;  // the port completes TCP checksums
    // ... also over a chain of mbufs (header + zero-copy payload). DPDK 22.11's net_tap
    // gets this wrong (found by interop_tcp_echo: about 1 in 30 full segments left with a
    // bad checksum), so the runtime turns it off for that driver.
    bool tx_checksum_offload_chained = true;
    std::uint64_t port_seed = 0;       // ephemeral ports
    std::uint64_t isn_key[2] = {0, 0}; // RFC 6528 secret
};

// /proc/net/snmp "Tcp:" and netstat "TcpExt:" names where one exists.
struct TcpCounters {
    stats::Counter active_opens;
    stats::Counter passive_opens;
    stats::Counter attempt_fails;
    stats::Counter estab_resets;
    stats::Counter in_segs;
    stats::Counter out_segs;
    stats::Counter retrans_segs;
    stats::Counter in_errs;        // bad header or checksum
    stats::Counter in_csum_errors;
    stats::Counter out_rsts;
    stats::Counter listen_overflows;  // the accept queue was full: the handshake's ACK dropped
    stats::Counter listen_drops;      // SYNs dropped (SYN queue full, no memory)
    // The sender's SACK processing (tcb.hpp SackStats); Linux's TcpExt names where they exist.
    stats::Counter sack_blocks_ignored;  // TCPSACKDiscard: invalid blocks
    stats::Counter dsacks_received;      // TCPDSACKRecv
    stats::Counter sack_recoveries;      // TCPSackRecovery: RFC 6675 recoveries entered
    stats::Counter sack_retransmits;     // segments resent by RFC 6675 NextSeg()
    stats::Counter sack_renegings;       // TCPSACKReneging
    stats::Counter lost_retransmits;     // TCPLostRetransmit
    stats::Counter loss_probes;             // TCPLossProbes: RFC 8985 §7 tail loss probes sent
    stats::Counter loss_probe_recoveries;   // TCPLossProbeRecovery: losses a probe repaired
    stats::Counter timeouts;                // TCPTimeouts: RTO expiries on synchronized connections
    stats::Counter challenge_acks;          // TCPChallengeACK (RFC 5961)
    stats::Counter challenge_acks_skipped;  // TCPACKSkippedChallenge: held back by the rate limit

    template <typename F>
    void visit(F&& f) const {
        f("ActiveOpens", active_opens);
        f("PassiveOpens", passive_opens);
        f("AttemptFails", attempt_fails);
        f("EstabResets", estab_resets);
        f("InSegs", in_segs);
        f("OutSegs", out_segs);
        f("RetransSegs", retrans_segs);
        f("InErrs", in_errs);
        f("InCsumErrors", in_csum_errors);
        f("OutRsts", out_rsts);
        f("ListenOverflows", listen_overflows);
        f("ListenDrops", listen_drops);
        f("TCPSACKDiscard", sack_blocks_ignored);
        f("TCPDSACKRecv", dsacks_received);
        f("TCPSackRecovery", sack_recoveries);
        f("TCPSackRetrans", sack_retransmits);
        f("TCPSACKReneging", sack_renegings);
        f("TCPLostRetransmit", lost_retransmits);
        f("TCPLossProbes", loss_probes);
        f("TCPLossProbeRecovery", loss_probe_recoveries);
        f("TCPTimeouts", timeouts);
        f("TCPChallengeACK", challenge_acks);
        f("TCPACKSkippedChallenge", challenge_acks_skipped);
    }
};

class TcpLayer final : public ip::TransportHandler {
public:
    TcpLayer(ip::Ipv4Layer& ip, time::TimerWheel& wheel, const time::Clock& clock, const TcpLayerConfig& config);
    ~TcpLayer() override;
    TcpLayer(const TcpLayer&) = delete;
    TcpLayer& operator=(const TcpLayer&) = delete;

    std::unique_ptr<TcpSocket> create_socket();

    void input(buf::PacketBuf&& packet, const wire::Ipv4Repr& ip, time::Instant now) noexcept override;
    void icmp_error(const wire::IcmpRepr& icmp, const wire::IcmpRepr::Quoted& quoted,
                    time::Instant now) noexcept override;

    // ---- for TcpSocket ----
    ip::Ipv4Layer& ip() noexcept { return ip_; }
    socket::PortManager& ports() noexcept { return ports_; }
    time::TimerWheel& wheel() noexcept { return wheel_; }
    time::Instant now() const noexcept { return clock_.now(); }
    const TcpLayerConfig& config() const noexcept { return config_; }
    TcpCounters& counters() noexcept { return counters_; }
    const TcpCounters& counters() const noexcept { return counters_; }
    wire::SeqNum isn(const wire::Endpoint& local, const wire::Endpoint& remote, time::Instant now) const noexcept;
    // Builds the IPv4 datagram around a segment and sends it.
    void send_segment(const wire::Endpoint& local, const wire::Endpoint& remote, const wire::TcpRepr& h,
                      buf::PacketBuf&& payload, int ttl, std::uint8_t tos, time::Instant now) noexcept;
    void hash(TcpSocket& s);           // into the 4-tuple table (connect, accept)
    void unhash(TcpSocket& s) noexcept;
    bool tuple_free(const wire::Endpoint& local, const wire::Endpoint& remote) const noexcept;
    // Takes ownership of a closed-by-the-application connection until its TCB is CLOSED.
    void adopt_orphan(TcpSocket& s) noexcept;
    // Frees an orphan whose close has completed. Called by the socket itself, last.
    void reap(TcpSocket& s) noexcept;
    std::size_t connections() const noexcept { return table_.size(); }

    // ---- listeners (for the socket listing; their SYNs are found through ports()) ----
    // listen(2) called, first time or again with a new backlog (clamped as listen() did).
    void note_listener(const TcpSocket& s, int backlog) noexcept;
    // The listener closed or is being destroyed; nothing if it was not listening.
    void forget_listener(const TcpSocket& s) noexcept;

    // The queues of one listener as `ss` shows them.
    struct ListenerQueues {
        std::uint32_t syn_queue = 0;     // children in SYN-RECEIVED
        std::uint32_t accept_queue = 0;  // established children not yet accepted (Recv-Q)
        std::uint32_t backlog = 0;       // listen()'s backlog (Send-Q)
    };
    // Every TCP socket of the shard, as Linux's inet_diag walks them for `ss -t -a`:
    // on_listener(const TcpSocket&, const ListenerQueues&) for each listener, then
    // on_connection(const TcpSocket&) for each connection in the 4-tuple table (embryos,
    // the accept queues, accepted connections, orphans until they reach CLOSED, TIME-WAIT).
    // A connection that reached CLOSED has left the table and is not listed, as on Linux.
    // Shard thread only; the callbacks must not open, close or hash sockets. The queue
    // counts cost a walk of the table per listener: for listings, never the data path.
    template <typename OnListener, typename OnConnection>
    void visit_sockets(OnListener&& on_listener, OnConnection&& on_connection) const {
        for (const auto& [listener, backlog] : listeners_) {
            ListenerQueues q = queues_of(*listener);
            q.backlog = backlog;
            on_listener(*listener, q);
        }
        for (const auto& entry : table_) on_connection(*static_cast<const TcpSocket*>(entry.second));
    }

private:
    struct Key {
        std::uint64_t hi;  // local address, remote address
        std::uint32_t lo;  // local port, remote port
        bool operator==(const Key&) const noexcept = default;
    };
    struct KeyHash {
        std::size_t operator()(const Key& k) const noexcept {
            return static_cast<std::size_t>((k.hi * 0x9e3779b97f4a7c15ull) ^ (k.lo * 0xc2b2ae3d27d4eb4full));
        }
    };
    static Key key_of(const wire::Endpoint& local, const wire::Endpoint& remote) noexcept;
    void reply_rst(const wire::Ipv4Repr& ip, const wire::TcpRepr& h, time::Instant now) noexcept;
    void listen_input(TcpSocket& listener, Segment&& s, const wire::Ipv4Repr& ip, time::Instant now) noexcept;
    ListenerQueues queues_of(const TcpSocket& listener) const noexcept;

    ip::Ipv4Layer& ip_;
    time::TimerWheel& wheel_;
    const time::Clock& clock_;
    TcpLayerConfig config_;
    socket::PortManager ports_;
    IsnGenerator isn_;
    std::unordered_map<Key, TcpSocket*, KeyHash> table_;
    std::unordered_map<TcpSocket*, std::unique_ptr<TcpSocket>> orphans_;
    std::unordered_map<const TcpSocket*, std::uint32_t> listeners_;  // -> backlog
    TcpCounters counters_;
};

}  // namespace pollux::tcp
