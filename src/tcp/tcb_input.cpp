// Tcb input: RFC 9293 §3.10.7 "SEGMENT ARRIVES" for a connection that exists (LISTEN is
// the layer's), with RFC 5961's stricter RST/SYN/ACK checks and RFC 7323's PAWS.
#include <algorithm>
#include <cerrno>

#include "tcp/tcb.hpp"

namespace pollux::tcp {

using wire::SeqNum;
using wire::TcpFlags;

namespace {
// RFC 7323 §5.5: a TS.Recent older than 24 days is no longer a PAWS reference.
constexpr time::Duration kPawsIdle = time::Duration::from_s(24 * 24 * 3600);
// net.ipv4.tcp_invalid_ratelimit: at most one ACK per this interval for out-of-window ACKs.
constexpr time::Duration kOutOfWindowAckInterval = time::Duration::from_ms(500);
}  // namespace

void Tcb::input(Segment&& s, time::Instant now) noexcept {
    const wire::TcpRepr& h = s.header;
    switch (state_) {
        case State::closed:
        case State::listen:
            return;  // the layer answers segments to nothing (§3.10.7.1)
        case State::syn_sent:
            input_syn_sent(s, now);
            return;
        default:
            break;
    }
    const std::uint32_t len = s.payload ? s.payload.length() : 0;
    // RFC 7323 §5.3 PAWS: an older timestamp is a segment from an earlier incarnation of
    // the sequence space; answered with an ACK (not for a RST) and dropped.
    if (ts_enabled_ && h.options.timestamps && !h.has(TcpFlags::rst) &&
        static_cast<std::int32_t>(h.options.timestamps->value - ts_recent_) < 0 && now - ts_recent_age_ < kPawsIdle) {
        ++input_drops_.paws;
        send_ack(now);
        return;
    }
    // Simultaneous open (§3.5 figure 8): the peer's SYN-ACK reaches us in SYN-RECEIVED. Its
    // SYN is the one already taken, so it fails the sequence test as written; Linux's
    // tcp_validate_incoming() lets exactly this segment through as the handshake's ACK.
    if (state_ == State::syn_received && h.has(TcpFlags::syn) && h.has(TcpFlags::ack) && h.seq + 1 == rcv_nxt_ &&
        h.ack == snd_nxt_ && len == 0) {
        wire::TcpRepr ack = h;
        ack.flags = static_cast<std::uint8_t>(h.flags & ~TcpFlags::syn);
        ack.seq = rcv_nxt_;
        process_ack(ack, now);
        return;
    }
    // First: the sequence number (§3.10.7.4 table).
    if (!acceptable(h, len)) {
        // A retransmitted FIN in TIME-WAIT: ACK it and restart the 2 MSL wait (§3.10.7.4).
        if (state_ == State::time_wait && h.has(TcpFlags::fin)) time_wait_deadline_ = now + config_.time_wait;
        ++input_drops_.out_of_window;
        if (h.has(TcpFlags::rst)) return;
        // Linux tcp_validate_incoming(): a SYN outside the window is answered as one inside
        // (RFC 5961 §4.2 does not ask for a window check): a rate-limited challenge ACK.
        if (h.has(TcpFlags::syn) && state_ != State::time_wait) {
            ++input_drops_.syn_challenges;
            send_challenge_ack(now);
            return;
        }
        // §3.10.7.4: "If the RCV.WND is zero, no segments will be acceptable, but special
        // allowance should be made to accept valid ACKs". A segment at RCV.NXT (the peer's
        // window probe) still has its ACK field processed; its text is dropped. Linux's
        // tcp_sequence() lets it through the same way and tcp_data_queue() drops the data.
        if (receive_window() == 0 && h.seq == rcv_nxt_ && h.has(TcpFlags::ack) && !h.has(TcpFlags::syn)) {
            wire::TcpRepr ack_only = h;
            ack_only.flags = static_cast<std::uint8_t>(h.flags & ~(TcpFlags::fin | TcpFlags::psh));
            if (!process_ack(ack_only, now)) return;
            send_ack(now);
            output(now);
            return;
        }
        // Linux tcp_oow_rate_limited() (RFC 5961 §7's spirit): the duplicate ACK for an
        // out-of-window segment without data, SYN or FIN is rate-limited, so that two ends
        // that disagree about the sequence space cannot answer each other's ACKs forever.
        if (len == 0 && !h.has(TcpFlags::fin)) {
            if (last_oow_ack_ && now - *last_oow_ack_ < kOutOfWindowAckInterval) return;
            last_oow_ack_ = now;
        }
        if (h.seq < rcv_nxt_) note_duplicate(h.seq, SeqNum::min(h.seq + len, rcv_nxt_));  // received before
        send_ack(now);
        return;
    }
    // Second: RST (RFC 5961 §3.2: only an exact RCV.NXT resets; in-window gets a challenge).
    if (h.has(TcpFlags::rst)) {
        process_rst(h, now);
        return;
    }
    // Fourth: a SYN on a synchronized connection (RFC 5961 §4: challenge ACK, drop).
    if (h.has(TcpFlags::syn)) {
        if (state_ != State::time_wait) {
            ++input_drops_.syn_challenges;
            send_challenge_ack(now);
        }
        return;
    }
    // Fifth: the ACK field.
    if (!h.has(TcpFlags::ack)) return;
    if (!process_ack(h, now)) return;
    note_peer_alive(now);
    // RFC 7323 §4.3: TS.Recent is taken only from a segment at or below Last.ACK.sent, so
    // that a delayed ACK echoes the earliest unacknowledged segment's timestamp and the
    // peer's RTT sample includes the delay (Linux tcp_store_ts_recent via rcv_wup).
    if (ts_enabled_ && h.options.timestamps && h.seq <= last_ack_sent_) {
        ts_recent_ = h.options.timestamps->value;
        ts_recent_age_ = now;
    }
    // Seventh: the segment text; eighth: FIN.
    const bool fin = h.has(TcpFlags::fin);
    const SeqNum fin_seq = h.seq + len;
    process_data(s, now);
    if (fin && fin_seq == rcv_nxt_) process_fin(now);
    else if (fin && fin_seq > rcv_nxt_) {
        ooo_fin_ = fin_seq;  // after a hole: waits for it; a duplicate ACK now (RFC 5681 §4.2)
        if (len == 0) send_ack(now);
    }
    output(now);
}

// §3.10.7.4: segment length 0 needs RCV.NXT <= SEG.SEQ < RCV.NXT+RCV.WND (or SEG.SEQ =
// RCV.NXT with a zero window); with data, either end must fall in the window.
bool Tcb::acceptable(const wire::TcpRepr& h, std::uint32_t len) const noexcept {
    const std::uint32_t seg_len = len + (h.has(TcpFlags::syn) ? 1u : 0u) + (h.has(TcpFlags::fin) ? 1u : 0u);
    const std::uint32_t wnd = receive_window();
    const SeqNum end = rcv_nxt_ + wnd;
    const auto in = [&](SeqNum x) { return rcv_nxt_ <= x && x < end; };
    if (seg_len == 0) return wnd == 0 ? h.seq == rcv_nxt_ : in(h.seq);
    if (wnd == 0) return false;
    return in(h.seq) || in(h.seq + seg_len - 1);
}

bool Tcb::process_rst(const wire::TcpRepr& h, time::Instant now) noexcept {
    if (state_ == State::time_wait) return false;  // RFC 1337: TIME-WAIT ignores RSTs
    if (h.seq != rcv_nxt_) {
        send_challenge_ack(now);  // RFC 5961 §3.2
        return false;
    }
    switch (state_) {
        case State::syn_received:
            // A passive open goes back to LISTEN: the listener forgets it (no error to
            // anyone; §3.10.7.4). An active open that reached here was refused.
            fail(passive_ ? 0 : ECONNREFUSED);
            break;
        case State::closing:
        case State::last_ack:
            fail(0);
            break;
        default:
            fail(ECONNRESET);  // §3.10.7.4: ESTABLISHED..CLOSE-WAIT: "connection reset"
            break;
    }
    rx_.clear();
    return true;
}

// RFC 5961 §7: challenge ACKs are rate-limited, so that a blind attacker's flood of RSTs,
// SYNs or bad ACKs cannot turn the connection into an ACK amplifier. Per connection, as
// Linux's tcp_send_challenge_ack() -> tcp_oow_rate_limited(): at most one per
// tcp_invalid_ratelimit (500 ms), sharing the timestamp of the out-of-window duplicate
// ACKs (one budget for every ACK the peer did not earn). The skipped ones are counted
// (Linux TCPACKSkippedChallenge).
void Tcb::send_challenge_ack(time::Instant now) noexcept {
    if (last_oow_ack_ && now - *last_oow_ack_ < kOutOfWindowAckInterval) {
        ++challenge_acks_skipped_;
        return;
    }
    last_oow_ack_ = now;
    ++challenge_acks_sent_;
    send_ack(now);
}

// The fifth check. Returns false when the segment must be dropped now.
bool Tcb::process_ack(const wire::TcpRepr& h, time::Instant now) noexcept {
    if (state_ == State::syn_received) {
        if (!(snd_una_ < h.ack && h.ack <= snd_nxt_)) {
            send_rst(h.ack);  // <SEQ=SEG.ACK><CTL=RST>
            return false;
        }
        state_ = State::established;
        snd_wnd_ = std::uint32_t{h.window} << snd_wscale_;
        max_snd_wnd_ = snd_wnd_;
        snd_wl1_ = h.seq;
        snd_wl2_ = h.ack;
    }
    // RFC 5961 §5.2: acceptable ACKs lie in [SND.UNA - MAX.SND.WND, SND.MAX].
    if (h.ack > snd_max_) {
        send_challenge_ack(now);
        return false;
    }
    if (h.ack < snd_una_ - std::max(max_snd_wnd_, 1u)) {
        send_challenge_ack(now);
        return false;
    }
    const std::uint32_t len = h.payload_len;
    // RFC 6675 §5: every ACK's SACK information updates the scoreboard first.
    const std::uint32_t dsacks_before = sack_stats_.dsacks;
    const std::uint32_t newly_sacked = sack_enabled_ && h.options.sack_count > 0 ? update_scoreboard(h) : 0;
    const bool advanced = h.ack > snd_una_;
    const bool pure_dup = !advanced && len == 0 && !h.has(TcpFlags::fin) && newly_sacked == 0 &&
                          (std::uint32_t{h.window} << snd_wscale_) == snd_wnd_;
    if (h.ack > snd_una_) {
        on_new_ack(h, now);
    } else if (h.ack == snd_una_ && snd_una_ != snd_max_ &&
               ((len == 0 && !h.has(TcpFlags::fin) && (std::uint32_t{h.window} << snd_wscale_) == snd_wnd_) ||
                newly_sacked > 0)) {
        // RFC 5681 §2 "DUPLICATE ACKNOWLEDGMENT", or (RFC 6675 §2) an ACK at SND.UNA that
        // SACKs new data, whatever it carries: with data flowing both ways every ACK has
        // text, and the SACK blocks still say what arrived.
        on_duplicate_ack(now);
    }
    // RFC 8985 §7.4: the tail loss probe's episode (tcb_loss_probe.cpp).
    process_tlp_ack(h, advanced, sack_stats_.dsacks != dsacks_before, pure_dup, now);
    // A retransmission of this recovery that is lost too goes again (retransmission_log.hpp)
    // instead of waiting for the RTO.
    if (sack_recovery_) sack_stats_.lost_retransmits += rxt_log_.update(sack_, snd_una_, snd_max_, snd_mss_);
    // RFC 6675 §5 steps 2 and 4: recovery starts on DupThresh duplicate ACKs or as soon as
    // the scoreboard says SND.UNA is lost (IsLost(HighACK + 1)), whichever comes first;
    // never again before the cumulative ACK passed the last RecoveryPoint (as RFC 6582).
    // RecoveryPoint is HighData, the last octet sent, and recover_ one past it (SND.MAX):
    // "HighACK > RecoveryPoint" is SND.UNA >= recover_. (With SND.UNA > recover_ an ACK
    // that ended a recovery exactly at recover_ barred the next one until the segment
    // there arrived: a loss of that segment could only be repaired by the RTO, however
    // much was SACKed above it — found by the SACK-vs-NewReno test at 1 % loss.)
    if (sack_enabled_ && !in_recovery_ && snd_una_ != snd_max_ && snd_una_ >= recover_ &&
        (dupacks_ >= static_cast<int>(SackScoreboard::dup_thresh) || sack_.is_lost(snd_una_, snd_una_, snd_mss_))) {
        enter_sack_recovery(now);
    }
    // The window update (SND.WL1/WL2 keep an old segment from shrinking it).
    if (snd_wl1_ < h.seq || (snd_wl1_ == h.seq && snd_wl2_ <= h.ack)) {
        snd_wnd_ = std::uint32_t{h.window} << snd_wscale_;
        max_snd_wnd_ = std::max(max_snd_wnd_, snd_wnd_);
        snd_wl1_ = h.seq;
        snd_wl2_ = h.ack;
        if (snd_wnd_ > 0) persist_deadline_ = time::Instant::max();
    }
    // Our FIN acknowledged?
    const bool fin_acked = fin_sent_ && snd_una_ == snd_max_ && tx_.empty();
    if (fin_acked) {
        switch (state_) {
            case State::fin_wait_1:
                state_ = State::fin_wait_2;
                break;
            case State::closing:
                enter_time_wait(now);
                break;
            case State::last_ack:
                state_ = State::closed;
                return false;
            default:
                break;
        }
    }
    return true;
}

void Tcb::on_new_ack(const wire::TcpRepr& h, time::Instant now) noexcept {
    std::uint32_t acked = static_cast<std::uint32_t>(h.ack - snd_una_);
    // RTT: from the echoed timestamp (RFC 7323 §4.1, valid even for retransmissions), else
    // from the one timed segment (Karn's rule).
    std::optional<time::Duration> rtt_sample;
    if (ts_enabled_ && h.options.timestamps && h.options.timestamps->echo != 0) {
        const std::uint32_t ms = ts_clock(now) - h.options.timestamps->echo;
        rtt_sample = time::Duration::from_ms(ms);
    } else if (rtt_probe_ && h.ack >= rtt_probe_->first) {
        rtt_sample = now - rtt_probe_->second;
    }
    if (rtt_sample) rtt_.sample(*rtt_sample);
    if (rtt_probe_ && h.ack >= rtt_probe_->first) rtt_probe_.reset();
    retries_ = 0;  // the backoff itself ends with the next valid RTT sample (RFC 6298 §5, Linux)
    // Sequence space beyond the data: our SYN (acked in SYN-RECEIVED / SYN-SENT) and FIN.
    if (snd_una_ == iss_ && acked > 0) --acked;
    const std::uint32_t data = std::min<std::uint32_t>(acked, static_cast<std::uint32_t>(tx_.size()));
    tx_.consume(data);
    const std::uint32_t flight_before = static_cast<std::uint32_t>(snd_max_ - snd_una_);
    snd_una_ = h.ack;
    if (snd_nxt_ < snd_una_) snd_nxt_ = snd_una_;
    // Reneging (RFC 2018 §8, Linux tcp_check_sack_reneging): a cumulative ACK that stops at
    // or inside a SACKed range means the receiver dropped what it had SACKed (it would
    // have acknowledged past it otherwise). Nothing SACKed is trusted any more.
    if (sack_.is_sacked(snd_una_)) {
        sack_.clear();
        ++sack_stats_.renegings;
    }
    sack_.advance(snd_una_);
    if (in_recovery_) {
        if (h.ack >= recover_) {
            // RFC 6582 §3.2 step 6 / RFC 6675 §5 (A): an ACK covering the recovery point ends it.
            in_recovery_ = false;
            sack_recovery_ = false;
            rxt_log_.clear();
            cc_->on_exit_recovery(static_cast<std::uint32_t>(snd_max_ - snd_una_));
        } else if (sack_recovery_) {
            // RFC 6675 §5 (B), (C): a partial ACK changes no window; the caller's output()
            // sends what cwnd - pipe allows, by NextSeg().
        } else {
            // Partial ACK: the next hole is lost too; retransmit it at once (step 5).
            cc_->on_partial_ack(acked);
            retransmit_head(now);
        }
    } else {
        cc_->on_ack(acked, flight_before, now, rtt_sample);
        // `recover` holds SND.MAX of the last recovery or RTO (RFC 6582 §3.2) until SND.UNA
        // passes it; from then on it trails SND.UNA, so that after 2^31 bytes without a loss
        // the modulo-2^32 tests against it (SND.UNA > recover) still say "past" and a loss
        // still starts a fast recovery instead of waiting for the RTO (found in review).
        if (snd_una_ > recover_) recover_ = snd_una_ - 1;
    }
    dupacks_ = 0;
    limited_transmit_bytes_ = 0;
    // RFC 6298 §5.2/5.3: stop the timer when all is acknowledged, else restart it.
    rto_deadline_ = time::Instant::max();
    if (snd_una_ != snd_max_) arm_retransmit(now);
    schedule_loss_probe(now);  // RFC 8985 §7.2: an ACK of new data restarts the PTO
}

// RFC 5681 §3.2 fast retransmit on the third duplicate; RFC 6582 NewReno recovery.
void Tcb::on_duplicate_ack(time::Instant now) noexcept {
    ++dupacks_;
    if (in_recovery_) {
        if (!sack_recovery_) cc_->on_dupack_in_recovery();  // RFC 6675 inflates nothing: pipe shrank
        return;
    }
    if (sack_enabled_) return;  // process_ack() decides RFC 6675's entry
    // RFC 6582 §3.2 step 2: only when the cumulative ACK is beyond the last recovery point.
    if (dupacks_ == 3 && snd_una_ > recover_) {
        in_recovery_ = true;
        recover_ = snd_max_;
        // RFC 5681 §3.2 step 2: data sent by limited transmit is not part of FlightSize here.
        const auto flight = static_cast<std::uint32_t>(snd_max_ - snd_una_);
        cc_->on_enter_recovery(flight - std::min(flight, limited_transmit_bytes_), now);
        retransmit_head(now);
    }
}

// Resends the first unacknowledged segment (fast retransmit, partial ACK).
void Tcb::retransmit_head(time::Instant now) noexcept {
    const auto len = static_cast<std::uint32_t>(std::min<std::size_t>(tx_.size(), mss_now(now)));
    if (len == 0) return;
    ++total_retransmits_;
    rtt_probe_.reset();
    send_segment(snd_una_, len, TcpFlags::ack, now);
}

// RFC 6675 §5 Update() with RFC 2018's blocks, after RFC 2883's D-SACK and the validity
// checks (Linux tcp_sacktag_write_queue / tcp_is_sackblock_valid): a block is used only
// when SND.UNA <= left < right <= SND.MAX, SND.UNA taken after this ACK. The first block is
// a D-SACK (a duplicate the peer received, RFC 2883 §4) when it lies below the cumulative
// ACK or inside the second block: it reports nothing about holes and is not recorded.
std::uint32_t Tcb::update_scoreboard(const wire::TcpRepr& h) noexcept {
    const std::size_t count = std::min<std::size_t>(h.options.sack_count, wire::tcp_option::max_sack_blocks);
    sack_stats_.blocks_ignored += static_cast<std::uint32_t>(h.options.sack_count - count);
    const SeqNum una = SeqNum::max(snd_una_, h.ack);
    std::uint32_t fresh = 0;
    for (std::size_t k = 0; k < count; ++k) {
        const wire::SackBlock& b = h.options.sack_blocks[k];
        if (k == 0) {
            const bool inside_second = count > 1 && h.options.sack_blocks[1].left <= b.left &&
                                       b.right <= h.options.sack_blocks[1].right;
            if (b.left < h.ack || inside_second) {
                ++sack_stats_.dsacks;
                continue;
            }
        }
        if (!(b.left < b.right) || b.left < una || b.right > snd_max_) {
            ++sack_stats_.blocks_ignored;
            continue;
        }
        fresh += sack_.add(b.left, b.right);
    }
    return fresh;
}

// RFC 6675 §5 step 4: RecoveryPoint = HighData; ssthresh and cwnd from the algorithm
// (cwnd = ssthresh); the first segment presumed lost, at SND.UNA, leaves at once, with
// HighRxt and RescueRxt set to its end; output() then sends what cwnd - pipe allows.
void Tcb::enter_sack_recovery(time::Instant now) noexcept {
    in_recovery_ = true;
    sack_recovery_ = true;
    recover_ = snd_max_;
    ++sack_stats_.recoveries;
    end_loss_probe_episode();  // the recovery is the response (Linux tcp_init_cwnd_reduction)
    // RFC 5681 §3.2 step 2: data sent by limited transmit is not part of FlightSize here.
    const auto flight = static_cast<std::uint32_t>(snd_max_ - snd_una_);
    cc_->on_enter_loss_recovery(flight - std::min(flight, limited_transmit_bytes_), now);
    high_rxt_ = snd_una_;
    rescue_rxt_.reset();
    rxt_log_.clear();
    if (const auto hole = sack_.first_hole(snd_una_, snd_max_)) {
        const auto len = std::min(static_cast<std::uint32_t>(hole->end - hole->start), mss_now(now));
        const std::uint32_t sent = retransmit_range(hole->start, len, now);
        high_rxt_ = hole->start + sent;
        rescue_rxt_ = high_rxt_;
        rxt_log_.record(hole->start, high_rxt_, snd_max_);
    }
}

// The seventh check: the text, trimmed to the window; in order to the stream, beyond
// RCV.NXT to the out-of-order queue (and an immediate ACK, RFC 5681 §4.2).
// RFC 2883 §4: data received twice is reported to the sender in the next ACK, as the
// first SACK block (a D-SACK), so that it can tell a spurious retransmission (its tail
// loss probe, a retransmission after reordering) from a repaired loss. As Linux's
// tcp_dsack_set(): only with SACK agreed, and the latest duplicate wins. Counted as
// Linux's TCPDSACKOldSent (below RCV.NXT) and TCPDSACKOfoSent (in the out-of-order queue).
void Tcb::note_duplicate(SeqNum left, SeqNum right) noexcept {
    if (!sack_enabled_ || !(left < right)) return;
    dsack_ = wire::SackBlock{left, right};
    if (right <= rcv_nxt_) {
        ++dsacks_sent_old_;
    } else {
        ++dsacks_sent_ofo_;
    }
}

void Tcb::process_data(Segment& s, time::Instant now) noexcept {
    if (!s.payload || s.payload.length() == 0) return;
    switch (state_) {
        case State::established:
        case State::fin_wait_1:
        case State::fin_wait_2:
            break;
        default:
            return;  // after the peer's FIN there is no more text (§3.10.7.4)
    }
    // For TCP_INFO: Linux's lrcvtime and rcv_mss (tcp_event_data_recv, tcp_measure_rcv_mss).
    last_data_received_ = now;
    rcv_mss_ = static_cast<std::uint16_t>(std::max<std::uint32_t>(rcv_mss_, std::min<std::uint32_t>(s.payload.length(), 0xffff)));
    SeqNum seq = s.header.seq;
    if (seq < rcv_nxt_) {  // the front was received already
        note_duplicate(seq, SeqNum::min(seq + s.payload.length(), rcv_nxt_));
        const auto skip = static_cast<std::uint32_t>(rcv_nxt_ - seq);
        if (skip >= s.payload.length()) return;
        if (skip <= s.payload.front().size()) {
            s.payload.adjust(static_cast<std::uint16_t>(skip));
        } else {  // across segments: a zero-copy clone of the rest
            s.payload = s.payload.clone_range(skip, s.payload.length() - skip, pool_);
            if (!s.payload) return;
        }
        seq = rcv_nxt_;
    }
    const SeqNum right = rcv_adv_ > rcv_nxt_ ? rcv_adv_ : rcv_nxt_;
    if (seq + s.payload.length() > right) {
        const auto keep = static_cast<std::uint32_t>(right - seq);
        if (keep == 0) return;
        s.payload.truncate(keep);
    }
    if (seq != rcv_nxt_) {
        const OutOfOrderQueue::Insert held = ooo_.insert(seq, std::move(s.payload));
        if (held.duplicate) note_duplicate(held.duplicate->left, held.duplicate->right);
        send_ack(now);
        return;
    }
    const bool filled_hole = !ooo_.empty();
    const std::uint32_t n = s.payload.length();
    rx_.push(std::move(s.payload));
    rcv_nxt_ += n;
    while (buf::PacketBuf more = ooo_.pop_in_order(rcv_nxt_)) {
        rcv_nxt_ += more.length();
        rx_.push(std::move(more));
    }
    if (ooo_fin_ && *ooo_fin_ == rcv_nxt_) {
        ooo_fin_.reset();
        process_fin(now);
        return;
    }
    // Delayed ACK (RFC 1122 §4.2.3.2, RFC 5681 §4.2): every second full segment at once,
    // the first ones at once (Linux's quick-ack start), a hole filled at once, else within
    // the delayed-ACK timeout.
    ++unacked_segments_;
    if (filled_hole || quickacks_ > 0 || unacked_segments_ >= 2) {
        if (quickacks_ > 0) --quickacks_;
        send_ack(now);
    } else if (delack_deadline_ == time::Instant::max()) {
        delack_deadline_ = now + config_.delayed_ack;
    }
}

// The eighth check: the peer's FIN, in order.
void Tcb::process_fin(time::Instant now) noexcept {
    rcv_nxt_ += 1;
    fin_received_ = true;
    switch (state_) {
        case State::syn_received:
        case State::established:
            state_ = State::close_wait;
            break;
        case State::fin_wait_1:
            // Our FIN acknowledged already would have made it FIN-WAIT-2.
            state_ = State::closing;
            break;
        case State::fin_wait_2:
            enter_time_wait(now);
            break;
        case State::time_wait:
            time_wait_deadline_ = now + config_.time_wait;  // restart 2 MSL
            break;
        default:
            break;
    }
    send_ack(now);
}

// §3.10.7.3: SYN-SENT.
void Tcb::input_syn_sent(Segment& s, time::Instant now) noexcept {
    const wire::TcpRepr& h = s.header;
    if (h.has(TcpFlags::ack) && (h.ack <= iss_ || h.ack > snd_max_)) {
        if (!h.has(TcpFlags::rst)) send_rst(h.ack);
        return;
    }
    if (h.has(TcpFlags::rst)) {
        if (h.has(TcpFlags::ack)) fail(ECONNREFUSED);  // "error: connection reset"
        return;
    }
    if (!h.has(TcpFlags::syn)) return;
    irs_ = h.seq;
    rcv_nxt_ = h.seq + 1;
    negotiate(h.options);
    if (ts_enabled_) {
        ts_recent_ = h.options.timestamps->value;
        ts_recent_age_ = now;
    }
    snd_wnd_ = h.window;  // a SYN's window is never scaled
    max_snd_wnd_ = snd_wnd_;
    snd_wl1_ = h.seq;
    snd_wl2_ = h.ack;
    if (h.has(TcpFlags::ack)) {
        if (rtt_probe_) rtt_probe_.reset();
        if (retries_ == 0) rtt_.sample(now - syn_sent_at_);
        snd_una_ = h.ack;
        rto_deadline_ = time::Instant::max();
        retries_ = 0;
        state_ = State::established;
        send_ack(now);
        output(now);
        return;
    }
    // Simultaneous open (§3.10.7.3 fourth): SYN-RECEIVED, SYN-ACK with our ISS.
    state_ = State::syn_received;
    send_syn(true, now);
}

}  // namespace pollux::tcp
