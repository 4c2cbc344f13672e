// Tcb tail loss probe: RFC 8985 §7 (TLP), as Linux's tcp_schedule_loss_probe(),
// tcp_send_loss_probe() and tcp_process_tlp_ack().
//
// Why: a loss among the last segments of a flight leaves nothing after it to be SACKed, so
// RFC 6675 never sees three duplicates and only the RTO (at least RTO.min = 200 ms)
// repairs it. Instead, about two round trips after the last transmission or ACK, one
// probe segment leaves: new data if the windows allow, else the last segment again. Its
// ACK carries the SACK information that starts a fast recovery for the lost tail, or
// (when only the probed segment itself was lost) acknowledges it directly.
//
// Only with SACK (the ACK for the probe must be able to say what is missing), only in the
// open state: not during a recovery, nor after an RTO until the go-back-N has resent what
// it rewound and new data was acknowledged. One probe is out at a time (TLP.end_seq set);
// the RTO is what follows a probe that went unanswered.
#include <algorithm>

#include "tcp/tcb.hpp"

namespace pollux::tcp {

using wire::SeqNum;
using wire::TcpFlags;

namespace {
// RFC 8985 §7.2 WCDelAckT: the worst-case delayed-ACK timer of the receiver. With a single
// segment in flight the receiver may hold its ACK that long (RFC 5681 §4.2 allows up to
// 500 ms; 200 ms is the RFC's and Linux's figure, TCP_RTO_MIN / TCP_DELACK_MAX).
constexpr time::Duration kWorstCaseDelayedAck = time::Duration::from_ms(200);
// With more than one segment in flight, Linux adds TCP_TIMEOUT_MIN (2 jiffies, 2 ms) to
// the 2 * SRTT: a margin for ACK processing and timer granularity, which also keeps the
// probe's TSval (a millisecond clock) distinct from the probed segment's.
constexpr time::Duration kProbeSlack = time::Duration::from_ms(2);
// RFC 8985 §7.2: without an RTT sample, PTO = 1 s (Linux TCP_TIMEOUT_INIT).
constexpr time::Duration kPtoWithoutSample = time::Duration::from_s(1);

}  // namespace

// RFC 8985 §7.2: after new data was sent and after an ACK that acknowledged new data.
// PTO = 2 * SRTT, plus WCDelAckT when FlightSize is one segment (the receiver may delay its
// only ACK), never later than the pending RTO (§7.2 "If the RTO timer would fire earlier").
void Tcb::schedule_loss_probe(time::Instant now) noexcept {
    tlp_deadline_ = time::Instant::max();
    if (!sack_enabled_ || !sends_data(state_) || snd_una_ == snd_max_) return;
    // Open state only (Linux: icsk_ca_state Open or CWR): no recovery, no RTO's go-back-N.
    // §7.3: one probe at a time; while one is out the RTO watches it (Linux re-arms the
    // RTO when the PTO finds tlp_high_seq set, which comes to the same).
    if (in_recovery_ || retries_ > 0 || snd_nxt_ != snd_max_ || tlp_end_seq_) return;
    const auto flight = static_cast<std::uint32_t>(snd_max_ - snd_una_);
    time::Duration pto = kPtoWithoutSample;
    if (rtt_.has_sample()) pto = rtt_.srtt() * 2 + (flight <= snd_mss_ ? kWorstCaseDelayedAck : kProbeSlack);
    tlp_deadline_ = std::min(now + pto, rto_deadline_);
}

// RFC 8985 §7.3: the PTO expired. One probe, then the RTO timer (not the PTO) is re-armed.
void Tcb::send_loss_probe(time::Instant now) noexcept {
    tlp_deadline_ = time::Instant::max();
    if (!sends_data(state_) || snd_una_ == snd_max_ || in_recovery_) return;
    if (tlp_end_seq_) return;  // one probe out at a time (schedule_loss_probe() holds too)
    const auto flight = static_cast<std::uint32_t>(snd_max_ - snd_una_);
    const std::uint32_t mss = mss_now(now);
    const auto offset = static_cast<std::uint32_t>(snd_nxt_ - snd_una_);
    const auto data_end = static_cast<std::uint32_t>(tx_.size());
    const std::uint32_t available = offset < data_end ? data_end - offset : 0;
    const std::uint32_t len = std::min(available, mss);
    const std::uint32_t rwnd = snd_wnd_ > offset ? snd_wnd_ - offset : 0;
    std::uint32_t sent = 0;
    if (snd_nxt_ == snd_max_ && len > 0 && len <= rwnd) {
        // "If a previously unsent segment exists AND the receive window allows, transmit
        // that new segment": cwnd and Nagle do not hold it back (Linux tcp_write_xmit()
        // with push_one = 2, TCP_NAGLE_OFF). The FIN goes with the last of the data.
        const bool last = len == available;
        std::uint8_t flags = TcpFlags::ack;
        if (last) flags |= TcpFlags::psh;
        if (last && fin_queued_) flags |= TcpFlags::fin;
        send_segment(snd_nxt_, len, flags, now);
        if (len < mss) snd_sml_ = snd_nxt_ + len;  // tcp_minshall_update()
        if (!rtt_probe_) rtt_probe_ = {snd_nxt_ + len, now};
        sent = len + ((flags & TcpFlags::fin) != 0 ? 1u : 0u);
        snd_nxt_ = snd_nxt_ + sent;
        snd_max_ = snd_nxt_;
        if ((flags & TcpFlags::fin) != 0) fin_sent_ = true;
        tlp_is_retrans_ = false;
    } else if (const auto highest = sack_.highest_unsacked(snd_una_, snd_max_)) {
        // "Otherwise, retransmit the highest-sequence segment sent so far": here the
        // highest one not SACKed (a SACKed one would only be reported as a duplicate), up
        // to an MSS ending at its last byte, our FIN included when it is that byte.
        SeqNum start = snd_una_;
        if (*highest + 1 - snd_una_ > static_cast<std::int32_t>(mss)) start = *highest + 1 - mss;
        for (const SackScoreboard::Range& r : sack_.ranges()) {
            if (start < r.end && r.end <= *highest) start = r.end;  // only the un-SACKed stretch
        }
        sent = retransmit_range(start, static_cast<std::uint32_t>(*highest + 1 - start), now, false);
        tlp_is_retrans_ = true;
    }
    if (sent > 0) {
        ++sack_stats_.loss_probes;
        tlp_end_seq_ = snd_max_;
        tlp_ts_ = ts_clock(now);
        tlp_flight_ = flight;
    }
    // §7.3: "the sender MUST arm the RTO timer, not the PTO timer" (Linux tcp_rearm_rto()).
    arm_retransmit(now);
}

// RFC 8985 §7.4.2, as Linux's tcp_process_tlp_ack(). The episode ends once the ACK reaches
// TLP.end_seq and says whether the probe was needed:
// - a probe of new data: it was no repair, whatever the ACK says (RACK / RFC 6675 judge
//   the segments before it);
// - a D-SACK: the peer had the probed segment twice, nothing was lost;
// - an ACK beyond TLP.end_seq without such a report: the probe repaired a loss. That is a
//   congestion signal like a fast recovery, so ssthresh and cwnd are reduced once (Linux
//   enters CWR and ends it at once: cwnd = ssthresh);
// - a pure duplicate ACK at TLP.end_seq: the original and the probe both arrived.
// With timestamps the first ACK at or beyond TLP.end_seq already tells, without waiting
// for a D-SACK (which not every peer sends; pollux's receiver does): its TSecr names the
// transmission that completed the tail (RFC 7323 §4.3: the receiver echoes the segment
// that advanced RCV.NXT). Older than the probe: the original arrived (Linux
// tcp_packet_delayed(), RFC 3522's test); otherwise the probe repaired it. Differing from
// Linux, which waits at exactly TLP.end_seq: an original that was only delayed, and
// overtaken by its probe, is counted as a loss (one window reduction too many; Linux
// would undo it on the late D-SACK, pollux does not undo).
void Tcb::process_tlp_ack(const wire::TcpRepr& h, bool advanced, bool dsack, bool pure_dup,
                          time::Instant now) noexcept {
    if (!tlp_end_seq_ || h.ack < *tlp_end_seq_) return;
    bool repaired = false;
    if (!tlp_is_retrans_ || dsack) {
        repaired = false;
    } else if (ts_enabled_ && h.options.timestamps && h.options.timestamps->echo != 0) {
        repaired = static_cast<std::int32_t>(h.options.timestamps->echo - tlp_ts_) >= 0;
    } else if (h.ack > *tlp_end_seq_) {
        repaired = true;
    } else if (advanced || !pure_dup) {
        return;  // Linux waits: the original or the probe, not known yet
    }
    tlp_end_seq_.reset();
    if (repaired) {
        ++sack_stats_.loss_probe_recoveries;
        cc_->on_enter_loss_recovery(tlp_flight_, now);
    }
    // The ACK's own scheduling (on_new_ack) found the episode still open; data sent after
    // the probe gets its PTO now (Linux re-arms in tcp_set_xmit_timer(), after
    // tcp_process_tlp_ack()). Found in review.
    if (advanced) schedule_loss_probe(now);
}

}  // namespace pollux::tcp
