// Tcb: one TCP connection's state machine (RFC 9293), deterministic and pure.
//
// DESIGN.md rule 3: input(segment, now), on_timer(now), poll_at(); no clock reads, no
// DPDK calls of its own, no globals. Everything the TCB sends goes through SegmentOutput
// (the TCP layer adds the IPv4 header and hands the frame to the shard), and every time
// it needs is an argument. The same TCB therefore runs on the shard's TSC clock and on a
// test's ManualClock, which is how each RFC rule below is tested by forging segments.
//
// Names follow RFC 9293 §3.3.1 (SND.UNA, SND.NXT, SND.WND, SND.WL1, SND.WL2, ISS, RCV.NXT,
// RCV.WND, IRS). Sequence arithmetic is wire::SeqNum's (modulo 2^32).
//
// Files: tcb.cpp (opens, the application calls, state changes), tcb_input.cpp (§3.10.7
// "SEGMENT ARRIVES"), tcb_output.cpp (what may leave: window, Nagle, cwnd, ACK policy),
// tcb_timers.cpp (retransmission, delayed ACK, persist, keepalive, FIN-WAIT-2 of an orphan,
// the cork ceiling, TIME_WAIT). Loss recovery is RFC 6675's SACK-based one when SACK was
// negotiated (sack_scoreboard.hpp holds what the peer SACKed), NewReno (RFC 6582) otherwise.
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>

#include "buf/packet_buf.hpp"
#include "buf/send_buffer.hpp"
#include "buf/stream_buffer.hpp"
#include "tcp/congestion_control.hpp"
#include "tcp/out_of_order_queue.hpp"
#include "tcp/retransmission_log.hpp"
#include "tcp/rtt_estimator.hpp"
#include "tcp/sack_scoreboard.hpp"
#include "time/instant.hpp"
#include "wire/endpoint.hpp"
#include "wire/seq_num.hpp"
#include "wire/tcp.hpp"

namespace pollux::tcp {

// RFC 9293 §3.3.2, in the order a connection normally passes them.
enum class State : std::uint8_t {
    closed,
    listen,
    syn_sent,
    syn_received,
    established,
    fin_wait_1,
    fin_wait_2,
    close_wait,
    closing,
    last_ack,
    time_wait,
};
const char* to_string(State s) noexcept;

// The states in which our data and FIN may be sent and be in flight: from the end of the
// handshake until our FIN is acknowledged (RFC 9293 §3.10.2 SEND, and the FIN's states).
constexpr bool sends_data(State s) noexcept {
    switch (s) {
        case State::established:
        case State::close_wait:
        case State::fin_wait_1:
        case State::closing:
        case State::last_ack:
            return true;
        default:
            return false;
    }
}

// Linux's defaults (sysctl net.ipv4.tcp_*), each overridable per connection.
struct TcbConfig {
    std::uint16_t mss = 1460;        // what we announce: the MTU less 40 (RFC 9293 §3.7.1)
    std::uint32_t rcvbuf = 131'072;  // receive buffer: bounds the window we offer
    std::uint32_t sndbuf = 16'384 * 4;
    bool window_scaling = true;      // RFC 7323
    bool timestamps = true;          // RFC 7323
    bool sack = true;                // RFC 2018 blocks both ways, RFC 6675 loss recovery
    time::Duration rto_min = time::Duration::from_ms(200);
    time::Duration rto_initial = time::Duration::from_s(1);
    time::Duration rto_max = time::Duration::from_s(120);
    int syn_retries = 6;             // tcp_syn_retries
    int synack_retries = 5;          // tcp_synack_retries
    int retries2 = 15;               // tcp_retries2: give up on an established connection
    time::Duration delayed_ack = time::Duration::from_ms(40);  // TCP_DELACK_MIN
    time::Duration time_wait = time::Duration::from_s(60);     // TCP_TIMEWAIT_LEN (2*MSL)
    bool nodelay = false;            // TCP_NODELAY: no Nagle
    bool cork = false;               // TCP_CORK: only full segments leave (tcp(7))
    // SO_KEEPALIVE with TCP_KEEPIDLE / TCP_KEEPINTVL / TCP_KEEPCNT (tcp_keepalive_time,
    // tcp_keepalive_intvl, tcp_keepalive_probes).
    bool keepalive = false;
    time::Duration keepalive_idle = time::Duration::from_s(7200);
    time::Duration keepalive_interval = time::Duration::from_s(75);
    int keepalive_probes = 9;
    // tcp_fin_timeout: how long an orphan (closed by the application) waits in FIN-WAIT-2
    // for the peer's FIN before it is dropped.
    time::Duration fin_timeout = time::Duration::from_s(60);
    // TCP_CONGESTION: a name make_congestion_control() knows ("reno", "cubic"); CUBIC is
    // Linux's default (net.ipv4.tcp_congestion_control) and pollux's.
    std::string_view congestion = "cubic";
};

// The timestamp clock of every connection and of SYN cookies: milliseconds, as Linux's
// tcp_time_stamp (RFC 7323 §5.4 allows 1 ms to 1 s per tick).
inline std::uint32_t ts_clock(time::Instant now) noexcept { return static_cast<std::uint32_t>(now.ns() / 1'000'000); }
// The receive window scale we ask for: the smallest that lets a buffer of `rcvbuf` bytes
// be advertised (RFC 7323 §2.3, at most 14).
std::uint8_t window_scale_for(std::uint32_t rcvbuf) noexcept;

// A segment as the TCB receives it: the parsed header and its payload, trimmed to the
// data (possibly empty).
struct Segment {
    wire::TcpRepr header;
    buf::PacketBuf payload;
};

// Where the TCB's segments go. `payload` may be empty (a pure ACK, SYN, FIN, RST).
class SegmentOutput {
public:
    virtual ~SegmentOutput() = default;
    virtual void transmit(const wire::TcpRepr& header, buf::PacketBuf&& payload) noexcept = 0;
};

}  // namespace pollux::tcp

namespace pollux::tcp {

// What the application sees: readiness for epoll and the error a call should report.
struct TcbEvents {
    bool readable = false;       // data, or end of stream (FIN received), or an error
    bool writable = false;       // send buffer space (established / close-wait)
    bool read_closed = false;    // FIN received: EPOLLRDHUP
    bool hang_up = false;        // both directions closed or reset: EPOLLHUP
    int error = 0;               // a pending errno (ECONNRESET, ETIMEDOUT, ECONNREFUSED)
};

// What the sender's SACK processing did, for the layer's counters (tcp_layer.hpp).
struct SackStats {
    std::uint32_t blocks_ignored = 0;  // invalid blocks: outside [SND.UNA, SND.MAX], empty, > 4
    std::uint32_t dsacks = 0;          // RFC 2883 D-SACK blocks received (the tail loss probe uses them)
    std::uint32_t recoveries = 0;      // RFC 6675 loss recovery phases entered
    std::uint32_t retransmits = 0;     // segments resent by NextSeg() (entry's included)
    std::uint32_t renegings = 0;       // the peer dropped SACKed data: scoreboard cleared
    std::uint32_t lost_retransmits = 0;  // retransmissions found lost (retransmission_log.hpp)
    std::uint32_t loss_probes = 0;       // RFC 8985 §7 tail loss probes sent (TCPLossProbes)
    std::uint32_t loss_probe_recoveries = 0;  // losses a probe repaired, §7.4 (TCPLossProbeRecovery)
    std::uint32_t timeouts = 0;          // RTO expiries on a synchronized connection (TCPTimeouts)
};

// Segments the receive checks dropped, for the layer's counters (Linux's names).
struct InputDrops {
    std::uint32_t paws = 0;            // PAWSEstab: an old timestamp (RFC 7323 §5.3)
    std::uint32_t out_of_window = 0;   // TCPInvalidSequence: outside the receive window (§3.10.7.4)
    std::uint32_t syn_challenges = 0;  // TCPSYNChallenge: a SYN on a synchronized connection (RFC 5961 §4)
};

class Tcb {
public:
    Tcb(const TcbConfig& config, SegmentOutput& output, rte_mempool* pool,
        wire::Endpoint local, wire::Endpoint remote);
    ~Tcb();
    Tcb(const Tcb&) = delete;
    Tcb& operator=(const Tcb&) = delete;

    // ---- opening ----
    // Active open (RFC 9293 §3.10.1, OPEN call, active): sends the SYN, SYN-SENT.
    void connect(wire::SeqNum iss, time::Instant now) noexcept;
    // Passive open from a listener: `syn` is the SYN it accepted (already checked to be a
    // SYN without ACK/RST); replies SYN-ACK, SYN-RECEIVED.
    void accept_syn(const wire::TcpRepr& syn, wire::SeqNum iss, time::Instant now) noexcept;
    // Passive open completed by a SYN cookie (syn_cookie.hpp): `syn` is the SYN rebuilt
    // from the cookie, `iss` the cookie. SYN-RECEIVED with the SYN-ACK counted as sent;
    // the caller then delivers the ACK that carried the cookie.
    void accept_cookie(const wire::TcpRepr& syn, wire::SeqNum iss, time::Instant now) noexcept;

    // ---- the three inputs of the state machine ----
    void input(Segment&& segment, time::Instant now) noexcept;
    void on_timer(time::Instant now) noexcept;
    // The earliest instant on_timer() has work to do; Instant::max() when none.
    time::Instant poll_at() const noexcept;

    // ---- the application's calls (-errno on failure) ----
    // Appends to the send buffer (as much as SO_SNDBUF allows) and sends what may leave.
    // -EAGAIN when the buffer is full, -EPIPE after shutdown(SHUT_WR), close, or the end
    // of the connection. `more` (MSG_MORE): the caller has more to say, so a partial
    // last segment waits as under TCP_CORK — for this call only (Linux tcp_push()).
    long send(std::span<const iovec> data, time::Instant now, bool more = false) noexcept;
    // Reads in-order data; 0 at end of stream or after the connection ended (once its
    // error was reported); -EAGAIN when nothing is there yet.
    long recv(std::span<const iovec> data, bool peek, time::Instant now) noexcept;
    // SHUT_WR: queue a FIN after the data (§3.10.4).
    void shutdown_write(time::Instant now) noexcept;
    // close(2) without SO_LINGER 0: shutdown_write, and the TCB lives on as an orphan until
    // the close completes (TIME_WAIT, LAST-ACK answered) — the layer keeps it.
    void close(time::Instant now) noexcept;
    // SO_LINGER 0 close, or a fatal error: RST to the peer (§3.10.5 ABORT), CLOSED.
    void abort(time::Instant now) noexcept;
    // An ICMP error about this connection (Linux tcp_v4_err): a hard one ends a connection
    // that is still opening; otherwise it is the soft error a later timeout reports.
    void icmp_error(int error, bool hard) noexcept;
    // ICMP "fragmentation needed" (RFC 1191), already checked by the layer (RFC 5927 §4.1,
    // the floor: ip/path_mtu.hpp): a path MTU below the current one lowers SND.MSS (never
    // above what the handshake agreed), and what is in flight is resent at once in the
    // new size without touching cwnd (Linux tcp_v4_mtu_reduced + tcp_simple_retransmit).
    // False when the MTU was not below the current path MTU (ignored).
    bool path_mtu_reduced(std::uint32_t mtu, time::Instant now) noexcept;

    // TCP_NODELAY: turning it on sends what Nagle held back (Linux tcp_push_pending_frames).
    void set_nodelay(bool on, time::Instant now) noexcept {
        config_.nodelay = on;
        if (on) output(now);
    }
    // TCP_CORK: turning it off sends the partial segment it held (tcp_push_pending_frames
    // with TCP_NAGLE_PUSH: Nagle does not hold it either).
    void set_cork(bool on, time::Instant now) noexcept;
    // TCP_CONGESTION with a name make_congestion_control() knows: a fresh instance of it
    // takes over (Linux tcp_reinit_congestion_control()).
    void set_congestion(std::string_view name) noexcept;
    // SO_KEEPALIVE and its three TCP parameters; the next probe is planned from them.
    void set_keepalive(bool on, time::Duration idle, time::Duration interval, int probes) noexcept;

    // ---- state ----
    State state() const noexcept { return state_; }
    TcbEvents events() const noexcept;
    const wire::Endpoint& local() const noexcept { return local_; }
    const wire::Endpoint& remote() const noexcept { return remote_; }
    int take_error() noexcept;
    std::size_t readable_bytes() const noexcept { return rx_.size(); }
    std::size_t send_space() const noexcept;

    // For TCP_INFO and /pollux/sockets.
    wire::SeqNum snd_una() const noexcept { return snd_una_; }
    wire::SeqNum snd_nxt() const noexcept { return snd_nxt_; }
    wire::SeqNum rcv_nxt() const noexcept { return rcv_nxt_; }
    std::uint32_t snd_wnd() const noexcept { return snd_wnd_; }
    std::uint16_t effective_mss() const noexcept { return snd_mss_; }
    std::uint32_t path_mtu() const noexcept { return pmtu_; }  // tcpi_pmtu, IP_MTU
    std::uint32_t retransmits() const noexcept { return total_retransmits_; }
    int keepalive_probes_sent() const noexcept { return keepalive_probes_out_; }
    // Linux icsk_probes_out: unanswered zero-window or keepalive probes.
    int probes_out() const noexcept { return persist_probes_out_ + keepalive_probes_out_; }
    std::uint16_t largest_segment_received() const noexcept { return rcv_mss_; }  // tcpi_rcv_mss
    const std::optional<time::Instant>& last_data_sent() const noexcept { return last_data_sent_; }
    const std::optional<time::Instant>& last_data_received() const noexcept { return last_data_received_; }
    const std::optional<time::Instant>& last_ack_received() const noexcept { return last_ack_received_; }
    const RttEstimator& rtt() const noexcept { return rtt_; }
    const CongestionControl& congestion() const noexcept { return *cc_; }
    const TcbConfig& config() const noexcept { return config_; }
    wire::SeqNum snd_max() const noexcept { return snd_max_; }
    wire::SeqNum rcv_adv() const noexcept { return rcv_adv_; }
    std::uint8_t snd_wscale() const noexcept { return snd_wscale_; }
    std::uint8_t rcv_wscale() const noexcept { return rcv_wscale_; }
    bool timestamps_enabled() const noexcept { return ts_enabled_; }
    bool sack_enabled() const noexcept { return sack_enabled_; }
    int consecutive_timeouts() const noexcept { return retries_; }  // RTOs since the last progress
    int duplicate_acks() const noexcept { return dupacks_; }
    bool in_fast_recovery() const noexcept { return in_recovery_; }
    // RFC 6675 state (SACK-based recovery).
    bool in_sack_recovery() const noexcept { return sack_recovery_; }
    const SackScoreboard& sack_scoreboard() const noexcept { return sack_; }
    const SackStats& sack_stats() const noexcept { return sack_stats_; }
    const InputDrops& input_drops() const noexcept { return input_drops_; }
    wire::SeqNum recovery_point() const noexcept { return recover_; }  // RFC 6582 recover / RFC 6675 RecoveryPoint
    wire::SeqNum high_rxt() const noexcept { return high_rxt_; }      // one past the highest retransmitted byte
    std::uint32_t pipe() const noexcept;                                // RFC 6675 SetPipe(), bytes
    std::size_t send_queue_bytes() const noexcept { return tx_.size(); }  // unacknowledged + unsent
    // RFC 5961 challenge ACKs sent and held back by the rate limit.
    std::uint32_t challenge_acks_sent() const noexcept { return challenge_acks_sent_; }
    std::uint32_t challenge_acks_skipped() const noexcept { return challenge_acks_skipped_; }
    // Whether the connection went straight from ESTABLISHED or CLOSE-WAIT to CLOSED (a RST
    // sent or received, a timeout): what tcpEstabResets counts.
    bool reset_when_synchronized() const noexcept { return reset_when_synchronized_; }
    // RFC 2883 D-SACK blocks sent for data received below RCV.NXT and in the out-of-order
    // queue (Linux TCPDSACKOldSent, TCPDSACKOfoSent).
    std::uint32_t dsacks_sent_old() const noexcept { return dsacks_sent_old_; }
    std::uint32_t dsacks_sent_ofo() const noexcept { return dsacks_sent_ofo_; }
    // RFC 8985 §7 tail loss probe (tcb_loss_probe.cpp): the PTO deadline (Instant::max()
    // when none is armed) and TLP.end_seq of the probe episode in progress.
    time::Instant loss_probe_deadline() const noexcept { return tlp_deadline_; }
    const std::optional<wire::SeqNum>& loss_probe_end() const noexcept { return tlp_end_seq_; }

private:
    // tcb_input.cpp
    void input_syn_sent(Segment& s, time::Instant now) noexcept;
    bool acceptable(const wire::TcpRepr& h, std::uint32_t payload_len) const noexcept;
    bool process_rst(const wire::TcpRepr& h, time::Instant now) noexcept;
    bool process_ack(const wire::TcpRepr& h, time::Instant now) noexcept;
    void on_new_ack(const wire::TcpRepr& h, time::Instant now) noexcept;
    void on_duplicate_ack(time::Instant now) noexcept;
    void retransmit_head(time::Instant now) noexcept;
    void send_challenge_ack(time::Instant now) noexcept;  // RFC 5961 §7 rate limit
    std::uint32_t update_scoreboard(const wire::TcpRepr& h) noexcept;  // newly SACKed bytes
    void enter_sack_recovery(time::Instant now) noexcept;
    void process_data(Segment& s, time::Instant now) noexcept;
    void process_fin(time::Instant now) noexcept;
    // The state both passive opens share: sequence numbers from the SYN and our ISN, the
    // options agreed, SYN-RECEIVED.
    void note_duplicate(wire::SeqNum left, wire::SeqNum right) noexcept;  // a D-SACK for the next ACK
    void note_reset() noexcept;  // before a move to CLOSED by abort() or fail()
    void take_syn(const wire::TcpRepr& syn, wire::SeqNum iss, time::Instant now) noexcept;
    void negotiate(const wire::TcpOptions& peer) noexcept;
    void apply_path_mtu() noexcept;  // SND.MSS = min(negotiated, what pmtu_ carries)
    // RCV.WND: what is left of the window we last advertised.
    std::uint32_t receive_window() const noexcept {
        return rcv_adv_ > rcv_nxt_ ? static_cast<std::uint32_t>(rcv_adv_ - rcv_nxt_) : 0;
    }

    // tcb_output.cpp
    void output(time::Instant now) noexcept;       // data and FIN that may leave now
    void send_ack(time::Instant now) noexcept;     // a pure ACK, now
    void send_syn(bool with_ack, time::Instant now) noexcept;
    void send_rst(wire::SeqNum seq) noexcept;
    void send_segment(wire::SeqNum seq, std::uint32_t len, std::uint8_t flags, time::Instant now) noexcept;
    wire::TcpOptions options_for(std::uint8_t flags, time::Instant now) const noexcept;
    std::uint16_t window_to_advertise() noexcept;
    std::uint32_t mss_now(time::Instant now) const noexcept;  // SND.MSS less this segment's SACK option
    // RFC 6675 NextSeg() rules 1 (lost), 3 (un-SACKed below the highest SACK) and 4 (the
    // rescue): sends one segment by the first rule that applies; returns the sequence
    // space sent, 0 when none applies. `after_new_data`: rule 2 (new data) had nothing.
    std::uint32_t sack_retransmit(bool after_new_data, time::Instant now) noexcept;
    // Resends up to `len` bytes from `seq` (and our FIN if it lies there); the sequence
    // space sent.
    std::uint32_t retransmit_range(wire::SeqNum seq, std::uint32_t len, time::Instant now,
                                   bool by_next_seg = true) noexcept;

    // tcb_loss_probe.cpp (RFC 8985 §7)
    void schedule_loss_probe(time::Instant now) noexcept;  // arms the PTO, or disarms it
    void send_loss_probe(time::Instant now) noexcept;      // the PTO expired
    // §7.4: does this ACK end the probe episode, and did the probe repair a loss?
    void process_tlp_ack(const wire::TcpRepr& h, bool advanced, bool dsack, bool pure_dup,
                         time::Instant now) noexcept;
    void end_loss_probe_episode() noexcept {
        tlp_end_seq_.reset();
        tlp_deadline_ = time::Instant::max();
    }

    // tcb_timers.cpp
    void arm_retransmit(time::Instant now) noexcept;
    void retransmit_timeout(time::Instant now) noexcept;
    void enter_time_wait(time::Instant now) noexcept;
    void note_peer_alive(time::Instant now) noexcept;  // an acceptable segment arrived
    time::Instant keepalive_deadline() const noexcept;
    time::Instant fin_wait_2_deadline() const noexcept;
    void keepalive_timeout(time::Instant now) noexcept;
    bool held_by_cork(std::uint32_t len, bool last) const noexcept;  // output()'s cork rule
    void plan_cork_ceiling(time::Instant now) noexcept;
    void fail(int error) noexcept;                 // to CLOSED with a pending error

    TcbConfig config_;
    SegmentOutput& output_;
    rte_mempool* pool_;
    wire::Endpoint local_;
    wire::Endpoint remote_;
    State state_ = State::closed;
    bool passive_ = false;       // opened by a listener (a RST in SYN-RECEIVED is no error)
    time::Instant syn_sent_at_;  // the handshake's RTT sample

    // Send sequence space (RFC 9293 §3.3.1).
    wire::SeqNum iss_;
    wire::SeqNum snd_una_;
    wire::SeqNum snd_nxt_;
    wire::SeqNum snd_max_;       // the highest SND.NXT reached (an RTO rewinds SND.NXT)
    wire::SeqNum snd_sml_;       // the end of the last segment sent shorter than the MSS (Nagle)
    std::uint32_t snd_wnd_ = 0;  // scaled
    std::uint32_t max_snd_wnd_ = 0;
    wire::SeqNum snd_wl1_;
    wire::SeqNum snd_wl2_;
    std::uint16_t snd_mss_ = 536;  // RFC 9293 §3.7.1 default until the peer says
    std::uint16_t negotiated_mss_ = 536;  // SND.MSS as the handshake left it: PMTU only lowers it
    std::uint32_t pmtu_;           // the path MTU (RFC 1191): the MTU the MSS came from, until ICMP lowers it
    std::uint8_t snd_wscale_ = 0;
    bool fin_queued_ = false;    // shutdown_write: a FIN follows the data
    bool fin_sent_ = false;

    // Receive sequence space.
    wire::SeqNum irs_;
    wire::SeqNum rcv_nxt_;
    wire::SeqNum rcv_adv_;       // right edge of the window we last advertised
    std::uint8_t rcv_wscale_ = 0;
    std::optional<time::Instant> last_oow_ack_;  // the last ACK for an out-of-window pure ACK or a challenge
    std::uint32_t challenge_acks_sent_ = 0;
    bool reset_when_synchronized_ = false;
    std::optional<wire::SackBlock> dsack_;  // RFC 2883: a duplicate for the next ACK to report
    InputDrops input_drops_;
    std::uint32_t dsacks_sent_old_ = 0;
    std::uint32_t dsacks_sent_ofo_ = 0;
    std::uint32_t challenge_acks_skipped_ = 0;
    wire::SeqNum last_ack_sent_;  // RFC 7323 Last.ACK.sent: the ACK field of our last segment
    bool fin_received_ = false;
    std::optional<wire::SeqNum> ooo_fin_;  // a FIN seen beyond a hole

    // Options agreed at the handshake.
    bool ts_enabled_ = false;
    std::uint32_t ts_recent_ = 0;      // RFC 7323 TS.Recent
    time::Instant ts_recent_age_;
    bool sack_enabled_ = false;

    // ACK policy.
    int unacked_segments_ = 0;         // full segments received since our last ACK
    int quickacks_ = 16;               // Linux's quick-ack mode at start: ACK every segment
    time::Instant delack_deadline_ = time::Instant::max();

    // Timers (deadlines; the layer's wheel is armed to poll_at()).
    time::Instant rto_deadline_ = time::Instant::max();
    time::Instant persist_deadline_ = time::Instant::max();
    time::Instant time_wait_deadline_ = time::Instant::max();
    time::Instant cork_deadline_ = time::Instant::max();  // held partial data leaves then
    time::Instant last_received_;      // the last acceptable segment: keepalive's idle start
    int keepalive_probes_out_ = 0;     // unanswered keepalive probes
    time::Instant last_keepalive_probe_;
    int persist_probes_out_ = 0;       // zero-window probes since the window last opened
    std::uint16_t rcv_mss_ = 0;        // the largest payload received (Linux rcv_mss)
    std::optional<time::Instant> last_data_received_;  // Linux lrcvtime
    std::optional<time::Instant> last_ack_received_;   // Linux rcv_tstamp
    bool orphan_ = false;              // close()d: FIN-WAIT-2 is bounded by fin_timeout
    bool more_ = false;                // output() inside a send(MSG_MORE)
    bool push_ = false;                // output() pushes a partial segment past cork and Nagle
    int retries_ = 0;                  // consecutive RTOs without progress
    std::uint32_t total_retransmits_ = 0;
    std::optional<std::pair<wire::SeqNum, time::Instant>> rtt_probe_;  // Karn: untimed after a retransmit
    std::optional<time::Instant> last_data_sent_;  // Linux lsndtime: restart after idle (RFC 5681 §4.1)

    // Fast retransmit / NewReno (RFC 5681 §3.2, RFC 6582).
    int dupacks_ = 0;
    std::uint32_t limited_transmit_bytes_ = 0;  // sent beyond cwnd by RFC 3042 since SND.UNA moved
    bool in_recovery_ = false;
    wire::SeqNum recover_;

    // SACK-based loss recovery (RFC 6675); in_recovery_ is also set during it.
    SackScoreboard sack_;
    bool sack_recovery_ = false;
    wire::SeqNum high_rxt_;                   // HighRxt, as one past the highest byte resent
    std::optional<wire::SeqNum> rescue_rxt_;  // RescueRxt; nullopt: undefined
    SackStats sack_stats_;
    RetransmissionLog rxt_log_;               // this recovery's retransmissions, to find lost ones

    // Tail loss probe (RFC 8985 §7): the PTO timer and the episode of the one probe out.
    time::Instant tlp_deadline_ = time::Instant::max();
    std::optional<wire::SeqNum> tlp_end_seq_;  // TLP.end_seq: SND.NXT after the probe
    bool tlp_is_retrans_ = false;              // TLP.is_retrans: the probe resent old data
    std::uint32_t tlp_ts_ = 0;                 // the probe's TSval (timestamps on)
    std::uint32_t tlp_flight_ = 0;             // FlightSize when the probe left

    buf::SendBuffer tx_;
    buf::StreamBuffer rx_;
    OutOfOrderQueue ooo_;
    RttEstimator rtt_;
    std::unique_ptr<CongestionControl> cc_;
    int pending_error_ = 0;
    int soft_error_ = 0;
};

}  // namespace pollux::tcp
