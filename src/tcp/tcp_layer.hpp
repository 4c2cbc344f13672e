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
#include "tcp/syn_cookie.hpp"
#include "tcp/tcb.hpp"
#include "time/clock.hpp"
#include "time/timer_wheel.hpp"
#include "time/token_bucket.hpp"

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
    std::uint64_t cookie_key[2] = {0, 0};  // SYN cookies' secret (syn_cookie.hpp)
    // RFC 4987 §3.6 SYN cookies, as net.ipv4.tcp_syncookies: 0 never (a full SYN queue drops
    // SYNs), 1 when a SYN queue is full (Linux's default), 2 always.
    int syn_cookies = 1;
    // Connections in SYN-RECEIVED in the shard, all listeners together (Linux
    // tcp_max_syn_backlog); each listener's own bound is its backlog. Past either, SYNs get
    // cookies (or are dropped with syn_cookies 0). Each costs a socket, a TCB and its
    // out-of-order node pool: this bounds the memory a SYN flood can take.
    std::uint32_t max_syn_backlog = 4096;
    // Bounded memory, per shard (Linux's sysctls are per host and scale with its memory:
    // 131072 each on a 4 GiB machine; 65536 per shard is of that order for a few shards).
    // tcp_max_tw_buckets: a connection that would enter TIME-WAIT beyond this many is
    // closed at once instead (TCPTimeWaitOverflow).
    std::uint32_t max_time_wait = 65'536;
    // tcp_max_orphans: a connection closed by the application beyond this many orphans
    // (not counting those in TIME-WAIT) is reset instead (TCPAbortOnMemory).
    std::uint32_t max_orphans = 65'536;
    // RSTs answering segments for no connection (RFC 9293 §3.10.7.1): a token bucket of
    // rst_per_sec with bursts of rst_burst; 0 turns the limit off. Linux has no such limit
    // (FreeBSD's net.inet.icmp.icmplim, 200/s, covers these RSTs); the default is generous:
    // it only stops a flood to closed ports from turning into a flood of RSTs. Loopback
    // is never limited (a local connect() to a closed port must see ECONNREFUSED).
    std::uint32_t rst_per_sec = 1000;
    std::uint32_t rst_burst = 200;
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
    stats::Counter syncookies_sent;      // SyncookiesSent: SYN-ACKs carrying a cookie
    stats::Counter syncookies_recv;      // SyncookiesRecv: valid cookies, connections made
    stats::Counter syncookies_failed;    // SyncookiesFailed: ACKs to a listener with no valid cookie
    stats::Counter req_queue_full_cookies;  // TCPReqQFullDoCookies: cookies because a SYN queue was full
    stats::Counter req_queue_full_drops;    // TCPReqQFullDrop: SYNs dropped, SYN queue full, no cookies
    // The sender's SACK processing (tcb.hpp SackStats); Linux's TcpExt names where they exist.
    stats::Counter sack_blocks_ignored;  // TCPSACKDiscard: invalid blocks
    stats::Counter dsacks_received;      // TCPDSACKRecv
    stats::Counter dsacks_sent_old;      // TCPDSACKOldSent: D-SACKs for data below RCV.NXT
    stats::Counter dsacks_sent_ofo;      // TCPDSACKOfoSent: D-SACKs for data already out of order
    stats::Counter sack_recoveries;      // TCPSackRecovery: RFC 6675 recoveries entered
    stats::Counter sack_retransmits;     // segments resent by RFC 6675 NextSeg()
    stats::Counter sack_renegings;       // TCPSACKReneging
    stats::Counter lost_retransmits;     // TCPLostRetransmit
    stats::Counter loss_probes;             // TCPLossProbes: RFC 8985 §7 tail loss probes sent
    stats::Counter loss_probe_recoveries;   // TCPLossProbeRecovery: losses a probe repaired
    stats::Counter timeouts;                // TCPTimeouts: RTO expiries on synchronized connections
    stats::Counter challenge_acks;          // TCPChallengeACK (RFC 5961)
    stats::Counter challenge_acks_skipped;  // TCPACKSkippedChallenge: held back by the rate limit
    stats::Counter syn_challenges;          // TCPSYNChallenge: SYNs on synchronized connections
    stats::Counter paws_rejected;           // PAWSEstab: segments with an old timestamp
    // Segments outside the receive window, dropped (answered by a rate-limited ACK unless a
    // RST); Linux has only its drop reason TCP_INVALID_SEQUENCE for them.
    stats::Counter out_of_window;
    // Bounded memory and ICMP (issue #6).
    stats::Counter out_of_window_icmps;   // OutOfWindowIcmps: quoted sequence not in [SND.UNA, SND.NXT] (RFC 5927)
    stats::Counter pmtu_reductions;       // frag-needed that lowered a connection's path MTU (pollux)
    stats::Counter time_wait_overflows;   // TCPTimeWaitOverflow: closed instead of TIME-WAIT
    stats::Counter aborts_on_memory;      // TCPAbortOnMemory: reset on close, too many orphans
    stats::Counter rsts_rate_limited;     // RSTs to no connection not sent: the rate limit (pollux)

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
        f("SyncookiesSent", syncookies_sent);
        f("SyncookiesRecv", syncookies_recv);
        f("SyncookiesFailed", syncookies_failed);
        f("TCPReqQFullDoCookies", req_queue_full_cookies);
        f("TCPReqQFullDrop", req_queue_full_drops);
        f("TCPSACKDiscard", sack_blocks_ignored);
        f("TCPDSACKRecv", dsacks_received);
        f("TCPDSACKOldSent", dsacks_sent_old);
        f("TCPDSACKOfoSent", dsacks_sent_ofo);
        f("TCPSackRecovery", sack_recoveries);
        f("TCPSackRetrans", sack_retransmits);
        f("TCPSACKReneging", sack_renegings);
        f("TCPLostRetransmit", lost_retransmits);
        f("TCPLossProbes", loss_probes);
        f("TCPLossProbeRecovery", loss_probe_recoveries);
        f("TCPTimeouts", timeouts);
        f("TCPChallengeACK", challenge_acks);
        f("TCPACKSkippedChallenge", challenge_acks_skipped);
        f("TCPSYNChallenge", syn_challenges);
        f("PAWSEstab", paws_rejected);
        f("TCPInvalidSequence", out_of_window);
        f("OutOfWindowIcmps", out_of_window_icmps);
        f("PMTUReductions", pmtu_reductions);
        f("TCPTimeWaitOverflow", time_wait_overflows);
        f("TCPAbortOnMemory", aborts_on_memory);
        f("OutRstRateLimited", rsts_rate_limited);
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
    const SynCookies& syn_cookies() const noexcept { return cookies_; }
    // The shard's SYN-RECEIVED count against max_syn_backlog (TcpSocket keeps it).
    bool syn_backlog_full() const noexcept { return syn_backlog_ >= config_.max_syn_backlog; }
    void syn_backlog_add(int delta) noexcept { syn_backlog_ = static_cast<std::uint32_t>(static_cast<int>(syn_backlog_) + delta); }
    std::uint32_t syn_backlog() const noexcept { return syn_backlog_; }
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
    // Bounded memory. A connection entering TIME-WAIT asks for a place (false, counted:
    // tcp_max_tw_buckets reached) and gives it back when it leaves TIME-WAIT or is freed.
    bool admit_time_wait(bool orphan) noexcept;
    void leave_time_wait(bool orphan) noexcept;
    std::size_t time_wait_connections() const noexcept { return time_wait_; }
    // Orphans not in TIME-WAIT (Linux's tcp_orphan_count: a TIME-WAIT socket is no orphan).
    std::size_t orphans() const noexcept { return orphans_.size() - orphans_in_time_wait_; }
    bool orphans_full() const noexcept { return orphans() >= config_.max_orphans; }

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
    SynCookies cookies_;
    std::uint32_t syn_backlog_ = 0;
    std::unordered_map<Key, TcpSocket*, KeyHash> table_;
    std::unordered_map<TcpSocket*, std::unique_ptr<TcpSocket>> orphans_;
    std::unordered_map<const TcpSocket*, std::uint32_t> listeners_;  // -> backlog
    TcpCounters counters_;
    std::size_t time_wait_ = 0;             // connections in TIME-WAIT, orphans or not
    std::size_t orphans_in_time_wait_ = 0;  // ... of which orphans
    time::TokenBucket rst_limit_;
};

}  // namespace pollux::tcp
