// Tcb: opening, the application's calls, output and timers. Input is tcb_input.cpp.
#include "tcp/tcb.hpp"

#include <cerrno>
#include <algorithm>

namespace pollux::tcp {

using wire::SeqNum;
using wire::TcpFlags;

namespace {
constexpr std::uint8_t kMaxWscale = 14;        // RFC 7323 §2.3
constexpr std::uint32_t kMaxOooSegments = 256;
constexpr std::uint32_t kIpTcpHeaders = 40;      // IPv4 and TCP headers without options
constexpr std::uint32_t kTimestampOptionLen = 12;
constexpr std::uint32_t kMinSndMss = 48;         // Linux net.ipv4.tcp_min_snd_mss
}  // namespace

const char* to_string(State s) noexcept {
    switch (s) {
        case State::closed: return "CLOSED";
        case State::listen: return "LISTEN";
        case State::syn_sent: return "SYN-SENT";
        case State::syn_received: return "SYN-RECEIVED";
        case State::established: return "ESTABLISHED";
        case State::fin_wait_1: return "FIN-WAIT-1";
        case State::fin_wait_2: return "FIN-WAIT-2";
        case State::close_wait: return "CLOSE-WAIT";
        case State::closing: return "CLOSING";
        case State::last_ack: return "LAST-ACK";
        case State::time_wait: return "TIME-WAIT";
    }
    return "?";
}

Tcb::Tcb(const TcbConfig& config, SegmentOutput& output, rte_mempool* pool, wire::Endpoint local,
         wire::Endpoint remote)
    : config_(config),
      output_(output),
      pool_(pool),
      local_(local),
      remote_(remote),
      pmtu_(std::uint32_t{config.mss} + kIpTcpHeaders),  // the layer derives the MSS from the MTU
      ooo_(config.rcvbuf * 2, kMaxOooSegments),
      rtt_(RttEstimator::Config{time::Duration::from_us(100), config.rto_initial, config.rto_min, config.rto_max}),
      cc_(make_congestion_control(config.congestion, 536)) {
    if (!cc_) cc_ = make_congestion_control("reno", 536);  // the socket checked the name already
}

Tcb::~Tcb() = default;

std::uint8_t window_scale_for(std::uint32_t rcvbuf) noexcept {
    std::uint8_t s = 0;
    while (s < kMaxWscale && (rcvbuf >> s) > 0xffff) ++s;
    return s;
}

void Tcb::connect(SeqNum iss, time::Instant now) noexcept {
    iss_ = iss;
    recover_ = iss;  // RFC 6582 §3.2 step 1
    high_rxt_ = iss;
    snd_una_ = iss;
    snd_nxt_ = iss;
    snd_max_ = iss;
    snd_sml_ = iss;
    rcv_wscale_ = config_.window_scaling ? window_scale_for(config_.rcvbuf) : 0;
    state_ = State::syn_sent;
    syn_sent_at_ = now;
    last_received_ = now;
    send_syn(false, now);
}

void Tcb::accept_syn(const wire::TcpRepr& syn, SeqNum iss, time::Instant now) noexcept {
    take_syn(syn, iss, now);
    send_syn(true, now);
}

// The SYN-ACK went out statelessly with `iss` a SYN cookie; the ACK that returned it
// rebuilt `syn`. The state is what accept_syn() leaves after its SYN-ACK, without a
// retransmission timer (nothing is outstanding that the peer has not acknowledged) and
// without an RTT probe: the SYN-ACK's send time is unknown.
void Tcb::accept_cookie(const wire::TcpRepr& syn, SeqNum iss, time::Instant now) noexcept {
    take_syn(syn, iss, now);
    snd_nxt_ = iss + 1;
    snd_max_ = snd_nxt_;
    rcv_adv_ = rcv_nxt_ + std::min<std::uint32_t>(config_.rcvbuf, 0xffff);  // the SYN-ACK's window
    last_ack_sent_ = rcv_nxt_;  // the SYN-ACK acknowledged the SYN (RFC 7323 §4.3's Last.ACK.sent)
}

void Tcb::take_syn(const wire::TcpRepr& syn, SeqNum iss, time::Instant now) noexcept {
    irs_ = syn.seq;
    rcv_nxt_ = syn.seq + 1;
    iss_ = iss;
    recover_ = iss;  // RFC 6582 §3.2 step 1
    high_rxt_ = iss;
    snd_una_ = iss;
    snd_nxt_ = iss;
    snd_max_ = iss;
    snd_sml_ = iss;
    snd_wnd_ = syn.window;  // never scaled in a SYN (RFC 7323 §2.2)
    snd_wl1_ = syn.seq;
    snd_wl2_ = iss;
    passive_ = true;
    negotiate(syn.options);
    if (ts_enabled_) {
        ts_recent_ = syn.options.timestamps->value;
        ts_recent_age_ = now;
    }
    last_received_ = now;
    state_ = State::syn_received;
}

// RFC 9293 §3.7.1 (MSS), RFC 7323 (window scale and timestamps both ways or not at all),
// RFC 2018 (SACK-permitted): what the peer's SYN or SYN-ACK agreed to.
void Tcb::negotiate(const wire::TcpOptions& peer) noexcept {
    const std::uint16_t peer_mss = peer.mss.value_or(536);
    snd_mss_ = std::max<std::uint16_t>(std::min(peer_mss, config_.mss), 64);
    if (config_.window_scaling && peer.window_scale) {
        snd_wscale_ = std::min(*peer.window_scale, kMaxWscale);
        if (rcv_wscale_ == 0) rcv_wscale_ = window_scale_for(config_.rcvbuf);
    } else {
        snd_wscale_ = 0;
        rcv_wscale_ = 0;
    }
    ts_enabled_ = config_.timestamps && peer.timestamps.has_value();
    sack_enabled_ = config_.sack && peer.sack_permitted;
    // The timestamp option takes 12 bytes of every segment (RFC 7323 §3.2 / Linux's
    // tcp_mss_to_mtu): the payload per segment shrinks by that much.
    if (ts_enabled_ && snd_mss_ > 12 + 64) snd_mss_ = static_cast<std::uint16_t>(snd_mss_ - 12);
    negotiated_mss_ = snd_mss_;
    apply_path_mtu();  // an ICMP "fragmentation needed" may have come during the handshake
    cc_->set_mss(snd_mss_);
}

// Linux tcp_sync_mss() / tcp_mtu_to_mss(): the payload a path MTU carries is the MTU less
// the IPv4 and TCP headers and the timestamp option in use; at least tcp_min_snd_mss, and
// never more than the handshake agreed (the peer's MSS, ours, TCP_MAXSEG).
void Tcb::apply_path_mtu() noexcept {
    const std::uint32_t headers = kIpTcpHeaders + (ts_enabled_ ? kTimestampOptionLen : 0);
    const std::uint32_t by_path = pmtu_ > headers + kMinSndMss ? pmtu_ - headers : kMinSndMss;
    snd_mss_ = static_cast<std::uint16_t>(std::min<std::uint32_t>(negotiated_mss_, by_path));
}

long Tcb::send(std::span<const iovec> data, time::Instant now, bool more) noexcept {
    if (pending_error_ != 0) return -take_error();
    if (fin_queued_) return -EPIPE;
    switch (state_) {
        case State::syn_sent:
        case State::syn_received:
        case State::established:
        case State::close_wait:
            break;
        default:
            return -EPIPE;  // tcp_sendmsg(): the connection is over (sk_stream_wait_connect)
    }
    const std::size_t space = send_space();
    if (space == 0) return -EAGAIN;
    const long n = tx_.append(data, space, pool_);
    if (n > 0) {
        more_ = more;
        output(now);
        more_ = false;
        plan_cork_ceiling(now);
    }
    return n;
}

// TCP_CORK and MSG_MORE (tcp(7), Linux tcp_nagle_check() with TCP_NAGLE_CORK): a segment
// shorter than the MSS waits for more data — unless it is the last one before our FIN, or
// the cork ceiling expired (push_).
bool Tcb::held_by_cork(std::uint32_t len, bool last) const noexcept {
    if (push_ || !(config_.cork || more_)) return false;
    return len < snd_mss_ && !(last && fin_queued_);
}

// Held data with nothing in flight would wait forever (no ACK comes to release it): it
// leaves at a ceiling. tcp(7): TCP_CORK holds a partial frame at most 200 ms; a MSG_MORE
// tail leaves when Linux's probe timer fires, one RTO later (tcp_check_probe_timer).
void Tcb::plan_cork_ceiling(time::Instant now) noexcept {
    const bool held = snd_nxt_ == snd_una_ && static_cast<std::size_t>(snd_nxt_ - snd_una_) < tx_.size();
    if (!held) {
        cork_deadline_ = time::Instant::max();
        return;
    }
    if (cork_deadline_ != time::Instant::max()) return;
    cork_deadline_ = now + (config_.cork ? time::Duration::from_ms(200) : rtt_.rto());
}

void Tcb::set_cork(bool on, time::Instant now) noexcept {
    config_.cork = on;
    if (on) return;
    push_ = true;
    output(now);
    push_ = false;
    plan_cork_ceiling(now);
}

void Tcb::set_congestion(std::string_view name) noexcept {
    std::unique_ptr<CongestionControl> cc = make_congestion_control(name, snd_mss_);
    if (!cc) return;
    config_.congestion = name;
    cc_ = std::move(cc);
}

void Tcb::set_keepalive(bool on, time::Duration idle, time::Duration interval, int probes) noexcept {
    config_.keepalive = on;
    config_.keepalive_idle = idle;
    config_.keepalive_interval = interval;
    config_.keepalive_probes = probes;
}

std::size_t Tcb::send_space() const noexcept {
    // SO_SNDBUF counts bytes of buffer, as Linux's sk_wmem_queued counts truesize.
    const std::size_t used = tx_.footprint();
    return used >= config_.sndbuf ? 0 : config_.sndbuf - used;
}

long Tcb::recv(std::span<const iovec> data, bool peek, time::Instant now) noexcept {
    if (rx_.empty()) {
        if (pending_error_ != 0) return -take_error();
        // After a reset, a refusal or a completed close Linux's tcp_done() has set
        // RCV_SHUTDOWN: reads return 0 once the error was reported.
        if (fin_received_ || state_ == State::closed) return 0;
        return -EAGAIN;
    }
    const long n = rx_.read(data, peek);
    // Window update (RFC 9293 §3.8.6.2.2, receiver SWS avoidance): announce the opened
    // window once it grew by a full segment or half the buffer.
    if (n > 0 && !peek) {
        const std::uint32_t offered = static_cast<std::uint32_t>(std::max<std::int32_t>(rcv_adv_ - rcv_nxt_, 0));
        const std::uint32_t now_free = static_cast<std::uint32_t>(config_.rcvbuf - std::min<std::size_t>(rx_.size(), config_.rcvbuf));
        if (now_free >= offered + std::min<std::uint32_t>(snd_mss_, config_.rcvbuf / 2) &&
            (state_ == State::established || state_ == State::fin_wait_1 || state_ == State::fin_wait_2)) {
            send_ack(now);
        }
    }
    return n;
}

void Tcb::shutdown_write(time::Instant now) noexcept {
    if (fin_queued_) return;
    switch (state_) {
        case State::syn_received:
        case State::established:
            fin_queued_ = true;
            state_ = State::fin_wait_1;
            break;
        case State::close_wait:
            fin_queued_ = true;
            state_ = State::last_ack;
            break;
        case State::syn_sent:
            state_ = State::closed;  // §3.10.4: delete the TCB
            rto_deadline_ = time::Instant::max();
            return;
        default:
            return;
    }
    output(now);
}

void Tcb::close(time::Instant now) noexcept {
    orphan_ = true;
    // §3.10.4 / Linux tcp_close(): unread data makes it an abort (RFC 2525 §2.17).
    if (!rx_.empty() && state_ != State::closed && state_ != State::syn_sent) {
        abort(now);
        return;
    }
    shutdown_write(now);
}

void Tcb::abort(time::Instant now) noexcept {
    (void)now;
    note_reset();
    switch (state_) {
        case State::syn_received:
        case State::established:
        case State::fin_wait_1:
        case State::fin_wait_2:
        case State::close_wait:
            send_rst(snd_max_);  // the RFC's SND.NXT: an RTO may have rewound ours
            break;
        default:
            break;
    }
    state_ = State::closed;
    tx_.clear();
    rx_.clear();
    ooo_.clear();
    rto_deadline_ = persist_deadline_ = delack_deadline_ = cork_deadline_ = tlp_deadline_ = time::Instant::max();
}

int Tcb::take_error() noexcept {
    const int e = pending_error_;
    pending_error_ = 0;
    return e;
}

TcbEvents Tcb::events() const noexcept {
    TcbEvents e;
    e.error = pending_error_;
    e.read_closed = fin_received_;
    e.readable = !rx_.empty() || fin_received_ || pending_error_ != 0;
    const bool can_send = state_ == State::established || state_ == State::close_wait;
    e.writable = can_send && !fin_queued_ && send_space() > 0;
    e.hang_up = state_ == State::closed || (fin_received_ && fin_queued_);
    return e;
}

void Tcb::icmp_error(int error, bool hard) noexcept {
    if (hard && (state_ == State::syn_sent || state_ == State::syn_received)) {
        fail(error);
        return;
    }
    soft_error_ = error;
}

// RFC 1213 tcpEstabResets: "the number of times TCP connections have made a direct
// transition to the CLOSED state from either the ESTABLISHED state or the CLOSE-WAIT
// state" (Linux tcp_set_state()).
void Tcb::note_reset() noexcept {
    if (state_ == State::established || state_ == State::close_wait) reset_when_synchronized_ = true;
}

bool Tcb::path_mtu_reduced(std::uint32_t mtu, time::Instant now) noexcept {
    switch (state_) {
        case State::closed:
        case State::listen:
        case State::time_wait:
            return false;
        default:
            break;
    }
    // RFC 1191 §6.3: a "fragmentation needed" never raises the estimate; one that does not
    // lower it is stale (an earlier segment's, or a duplicate).
    if (mtu >= pmtu_) return false;
    pmtu_ = mtu;
    const std::uint16_t before = snd_mss_;
    apply_path_mtu();
    if (snd_mss_ == before) return true;
    cc_->set_mss(snd_mss_);
    if (!sends_data(state_)) return true;  // a SYN is small: nothing of ours in flight was too big
    if (snd_una_ == snd_max_) return true;
    // Linux tcp_simple_retransmit(): the segments in flight were dropped for their size,
    // not for congestion, so they go again at once in the new size and cwnd stays ("we do
    // not increase the amount of data in the network, but units changed"). As there, the
    // connection leaves any fast recovery (TCP_CA_Loss with high_seq = SND.NXT: the
    // duplicate ACKs of the resent data start no fast retransmit, RFC 6582's `recover`),
    // and the resent data is not timed (Karn). pollux keeps no segment boundaries of
    // what it sent, so all of [SND.UNA, SND.MAX) goes again (less what the peer SACKed),
    // where Linux resends only the segments larger than the new MSS.
    // A NewReno recovery's cwnd is inflated by the duplicate ACKs (RFC 6582 step 3): deflate
    // it as leaving recovery does, or the resend below would go out as one burst of it and
    // the loss's halving would never happen (Linux never inflates cwnd, so its "cwnd
    // stays" has no such case). Found in review.
    if (in_recovery_) cc_->on_exit_recovery(static_cast<std::uint32_t>(snd_max_ - snd_una_));
    end_loss_probe_episode();
    in_recovery_ = false;
    recover_ = snd_max_;
    dupacks_ = 0;
    sack_recovery_ = false;
    high_rxt_ = snd_una_;
    rescue_rxt_.reset();
    rxt_log_.clear();
    rtt_probe_.reset();
    const SeqNum resend_end = snd_max_;
    snd_nxt_ = snd_una_;
    output(now);
    const auto resent = static_cast<std::uint32_t>(SeqNum::min(snd_nxt_, resend_end) - snd_una_);
    total_retransmits_ += (resent + snd_mss_ - 1) / snd_mss_;
    arm_retransmit(now);
    return true;
}

void Tcb::fail(int error) noexcept {
    // tcp_write_err(): a timeout reports the soft error an ICMP message left, if any.
    if (error == ETIMEDOUT && soft_error_ != 0) error = soft_error_;
    pending_error_ = error;
    note_reset();
    state_ = State::closed;
    tx_.clear();
    ooo_.clear();
    rto_deadline_ = persist_deadline_ = delack_deadline_ = cork_deadline_ = tlp_deadline_ = time::Instant::max();
}

}  // namespace pollux::tcp
