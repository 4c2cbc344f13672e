// Tcb timers: retransmission (RFC 6298), delayed ACK (RFC 1122 §4.2.3.2), persist
// (RFC 9293 §3.8.6.1), keepalive (RFC 1122 §4.2.3.6), an orphan's FIN-WAIT-2 bound, the
// cork ceiling and TIME-WAIT (§3.10.7.4).
//
// Keepalive and the FIN-WAIT-2 bound keep no deadline of their own: both follow from the
// last acceptable segment (last_received_), so a segment that arrives moves them without
// anything to re-arm, and poll_at() derives them.
#include <algorithm>
#include <cerrno>

#include "tcp/tcb.hpp"

namespace pollux::tcp {

using wire::SeqNum;
using wire::TcpFlags;

time::Instant Tcb::poll_at() const noexcept {
    return std::min({rto_deadline_, tlp_deadline_, delack_deadline_, persist_deadline_, time_wait_deadline_,
                     cork_deadline_, keepalive_deadline(), fin_wait_2_deadline()});
}

void Tcb::note_peer_alive(time::Instant now) noexcept {
    last_received_ = now;
    last_ack_received_ = now;   // Linux tcp_ack(): rcv_tstamp
    keepalive_probes_out_ = 0;  // and icsk_probes_out = 0
    persist_probes_out_ = 0;
}

// Linux tcp_keepalive_timer(): probes only on a synchronized connection with nothing in
// flight or queued (the retransmission timer watches those); the first after
// keepalive_idle of silence, then one per keepalive_interval.
time::Instant Tcb::keepalive_deadline() const noexcept {
    if (!config_.keepalive) return time::Instant::max();
    switch (state_) {
        case State::established:
        case State::close_wait:
        case State::fin_wait_1:
        case State::fin_wait_2:
        case State::closing:
        case State::last_ack:
            break;
        default:
            return time::Instant::max();
    }
    if (snd_max_ != snd_una_ || !tx_.empty()) return time::Instant::max();
    if (keepalive_probes_out_ == 0) return last_received_ + config_.keepalive_idle;
    return last_keepalive_probe_ + config_.keepalive_interval;
}

// tcp_fin_timeout: an orphan whose FIN was acknowledged waits that long for the peer's FIN
// (Linux tcp_rcv_state_process() -> tcp_time_wait(TCP_FIN_WAIT2, tmo)); a peer that still
// talks restarts the wait.
time::Instant Tcb::fin_wait_2_deadline() const noexcept {
    if (!orphan_ || state_ != State::fin_wait_2) return time::Instant::max();
    return last_received_ + config_.fin_timeout;
}

void Tcb::keepalive_timeout(time::Instant now) noexcept {
    if (keepalive_probes_out_ >= config_.keepalive_probes) {
        // tcp_keepalive_timer(): tcp_send_active_reset(), then tcp_write_err().
        send_rst(snd_max_);
        fail(ETIMEDOUT);
        return;
    }
    // A keepalive probe (RFC 1122 §4.2.3.6) as Linux's tcp_write_wakeup() sends it with
    // nothing to send: an ACK at SND.UNA - 1, which the peer must answer.
    send_segment(snd_una_ - 1, 0, TcpFlags::ack, now);
    ++keepalive_probes_out_;
    last_keepalive_probe_ = now;
}

void Tcb::arm_retransmit(time::Instant now) noexcept { rto_deadline_ = now + rtt_.rto(); }

void Tcb::enter_time_wait(time::Instant now) noexcept {
    state_ = State::time_wait;
    rto_deadline_ = persist_deadline_ = tlp_deadline_ = time::Instant::max();
    time_wait_deadline_ = now + config_.time_wait;
}

void Tcb::on_timer(time::Instant now) noexcept {
    if (time_wait_deadline_ <= now) {
        time_wait_deadline_ = time::Instant::max();
        state_ = State::closed;
        return;
    }
    if (fin_wait_2_deadline() <= now) {
        state_ = State::closed;  // quietly, as Linux's FIN-WAIT-2 timewait socket expires
        rto_deadline_ = persist_deadline_ = delack_deadline_ = cork_deadline_ = time::Instant::max();
        tlp_deadline_ = time::Instant::max();
        return;
    }
    if (delack_deadline_ <= now) send_ack(now);
    if (keepalive_deadline() <= now) {
        keepalive_timeout(now);
        if (state_ == State::closed) return;
    }
    if (cork_deadline_ <= now) {
        cork_deadline_ = time::Instant::max();
        push_ = true;
        output(now);
        push_ = false;
    }
    if (tlp_deadline_ <= now) send_loss_probe(now);  // RFC 8985 §7.3 (tcb_loss_probe.cpp)
    if (rto_deadline_ <= now) retransmit_timeout(now);
    if (persist_deadline_ <= now) {
        // A zero-window probe (RFC 9293 §3.8.6.1) as Linux sends it (tcp_xmit_probe_skb):
        // an ACK with an old sequence number, SND.UNA - 1, which the peer must answer with
        // its current window; it carries no new data, so nothing is left unacknowledged.
        // The interval backs off like the RTO.
        persist_deadline_ = time::Instant::max();
        if (snd_wnd_ == 0 && tx_.size() > static_cast<std::size_t>(snd_nxt_ - snd_una_)) {
            send_segment(snd_una_ - 1, 0, TcpFlags::ack, now);
            ++persist_probes_out_;
            rtt_.backoff();
            persist_deadline_ = now + rtt_.rto();
        }
    }
}

// RFC 6298 §5.4-5.6: retransmit the earliest unacknowledged segment, back off, restart;
// RFC 5681 §3.1: the loss window is one segment. pollux rewinds SND.NXT to SND.UNA (as
// Linux does) and lets output() resend under the collapsed cwnd.
void Tcb::retransmit_timeout(time::Instant now) noexcept {
    rto_deadline_ = time::Instant::max();
    end_loss_probe_episode();  // Linux tcp_retransmit_timer(): tlp_high_seq = 0
    ++retries_;
    ++total_retransmits_;
    rtt_probe_.reset();  // Karn: nothing retransmitted is timed
    switch (state_) {
        case State::syn_sent:
            if (retries_ > config_.syn_retries) {
                fail(ETIMEDOUT);
                return;
            }
            rtt_.backoff();
            send_syn(false, now);
            return;
        case State::syn_received:
            if (retries_ > config_.synack_retries) {
                fail(ETIMEDOUT);
                return;
            }
            rtt_.backoff();
            send_syn(true, now);
            return;
        case State::established:
        case State::close_wait:
        case State::fin_wait_1:
        case State::closing:
        case State::last_ack:
            break;
        default:
            return;
    }
    if (retries_ > config_.retries2) {
        fail(ETIMEDOUT);
        return;
    }
    ++sack_stats_.timeouts;
    // Only the first expiry since progress reduces ssthresh (RFC 5681 eq. 4 counts what
    // was in flight before the loss; Linux tcp_enter_loss() does not reduce it again).
    if (retries_ == 1) cc_->on_rto(static_cast<std::uint32_t>(snd_max_ - snd_una_), now);
    in_recovery_ = false;
    recover_ = snd_max_;  // RFC 6582 §3.2: go-back-N's duplicate ACKs start no fast retransmit
    dupacks_ = 0;
    // RFC 6675 §5.1: the recovery ends, RecoveryPoint = HighData (above) holds back the next
    // one. The scoreboard is kept, so the go-back-N resends only un-SACKed data and the
    // recovery after the timeout uses all the SACK information (as Linux tcp_enter_loss()
    // keeps its SACKed marks). RFC 2018's worry is a receiver that reneged (dropped SACKed
    // data): then the resent holes are acknowledged, SND.UNA stops at a SACKed byte and
    // the timer expires again — so a second expiry without progress forgets the scoreboard
    // and the go-back-N covers everything (the robust reneging test RFC 6675 §5.1 asks for).
    sack_recovery_ = false;
    high_rxt_ = snd_una_;
    rescue_rxt_.reset();
    rxt_log_.clear();
    if (retries_ > 1) sack_.clear();
    rtt_.backoff();
    snd_nxt_ = snd_una_;
    output(now);
    if (rto_deadline_ == time::Instant::max()) arm_retransmit(now);
}

}  // namespace pollux::tcp
