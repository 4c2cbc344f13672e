// Tcb timers: retransmission (RFC 6298), delayed ACK (RFC 1122 §4.2.3.2), persist
// (RFC 9293 §3.8.6.1) and TIME-WAIT (§3.10.7.4).
#include <algorithm>
#include <cerrno>

#include "tcp/tcb.hpp"

namespace pollux::tcp {

using wire::SeqNum;
using wire::TcpFlags;

time::Instant Tcb::poll_at() const noexcept {
    return std::min({rto_deadline_, delack_deadline_, persist_deadline_, time_wait_deadline_});
}

void Tcb::arm_retransmit(time::Instant now) noexcept { rto_deadline_ = now + rtt_.rto(); }

void Tcb::enter_time_wait(time::Instant now) noexcept {
    state_ = State::time_wait;
    rto_deadline_ = persist_deadline_ = time::Instant::max();
    time_wait_deadline_ = now + config_.time_wait;
}

void Tcb::on_timer(time::Instant now) noexcept {
    if (time_wait_deadline_ <= now) {
        time_wait_deadline_ = time::Instant::max();
        state_ = State::closed;
        return;
    }
    if (delack_deadline_ <= now) send_ack(now);
    if (rto_deadline_ <= now) retransmit_timeout(now);
    if (persist_deadline_ <= now) {
        // A zero-window probe (RFC 9293 §3.8.6.1) as Linux sends it (tcp_xmit_probe_skb):
        // an ACK with an old sequence number, SND.UNA - 1, which the peer must answer with
        // its current window; it carries no new data, so nothing is left unacknowledged.
        // The interval backs off like the RTO.
        persist_deadline_ = time::Instant::max();
        if (snd_wnd_ == 0 && tx_.size() > static_cast<std::size_t>(snd_nxt_ - snd_una_)) {
            send_segment(snd_una_ - 1, 0, TcpFlags::ack, now);
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
    cc_->on_rto(static_cast<std::uint32_t>(snd_max_ - snd_una_), now);
    in_recovery_ = false;
    recover_ = snd_max_;  // RFC 6582 §3.2: go-back-N's duplicate ACKs start no fast retransmit
    dupacks_ = 0;
    rtt_.backoff();
    snd_nxt_ = snd_una_;
    output(now);
    if (rto_deadline_ == time::Instant::max()) arm_retransmit(now);
}

}  // namespace pollux::tcp
