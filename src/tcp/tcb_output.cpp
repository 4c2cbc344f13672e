// Tcb output: what may leave now (RFC 9293 §3.8.6, RFC 5681 cwnd, RFC 896 Nagle), the
// segments themselves, and the window we advertise.
#include <algorithm>

#include "tcp/tcb.hpp"

namespace pollux::tcp {

using wire::SeqNum;
using wire::TcpFlags;

// Receiver SWS avoidance (RFC 9293 §3.8.6.2.2): the window opens only in steps of
// min(a segment, half the buffer), and never shrinks (its right edge never moves left).
std::uint16_t Tcb::window_to_advertise() noexcept {
    const std::uint32_t used = static_cast<std::uint32_t>(std::min<std::size_t>(rx_.size(), config_.rcvbuf));
    std::uint32_t free = config_.rcvbuf - used;
    const std::uint32_t offered = rcv_adv_ > rcv_nxt_ ? static_cast<std::uint32_t>(rcv_adv_ - rcv_nxt_) : 0;
    if (free < offered + std::min<std::uint32_t>(snd_mss_, config_.rcvbuf / 2) && free > offered) free = offered;
    free = std::max(free, offered);
    // What the peer computes from the scaled field is what we commit to. Rounding the
    // field down could pull the right edge left of what we offered before (a window that
    // shrinks, RFC 7323 §2.4); as Linux's tcp_select_window() aligns the current window
    // up to the scale unit, an offer that is not a multiple of it is rounded up instead.
    const std::uint32_t unit = 1u << rcv_wscale_;
    std::uint32_t field = free >> rcv_wscale_;
    if ((field << rcv_wscale_) < offered) field = (offered + unit - 1) >> rcv_wscale_;
    field = std::min<std::uint32_t>(field, 0xffff);
    const SeqNum edge = rcv_nxt_ + (field << rcv_wscale_);
    if (edge > rcv_adv_) rcv_adv_ = edge;
    return static_cast<std::uint16_t>(field);
}

wire::TcpOptions Tcb::options_for(std::uint8_t flags, time::Instant now) const noexcept {
    wire::TcpOptions o;
    const bool syn = (flags & TcpFlags::syn) != 0;
    if (syn) {
        o.mss = config_.mss;
        if (config_.window_scaling && (state_ == State::syn_sent || snd_wscale_ != 0 || rcv_wscale_ != 0)) {
            o.window_scale = rcv_wscale_;
        }
        o.sack_permitted = config_.sack && (state_ == State::syn_sent || sack_enabled_);
        if (config_.timestamps && (state_ == State::syn_sent || ts_enabled_)) {
            o.timestamps = wire::TcpTimestamps{ts_clock(now), state_ == State::syn_sent ? 0 : ts_recent_};
        }
        return o;
    }
    if (ts_enabled_) o.timestamps = wire::TcpTimestamps{ts_clock(now), ts_recent_};
    if (sack_enabled_ && (dsack_ || !ooo_.empty()) && (flags & TcpFlags::rst) == 0) {
        // RFC 2883 §4: a D-SACK block first, then the SACK blocks, most recent first (the
        // range holding a duplicate above RCV.NXT was just touched: it comes second, as
        // §4 asks).
        std::size_t n = 0;
        if (dsack_) o.sack_blocks[n++] = *dsack_;
        n += ooo_.sack_blocks(std::span(o.sack_blocks).subspan(n));
        o.sack_count = static_cast<std::uint8_t>(n);
        o.sack_count = static_cast<std::uint8_t>(std::min(std::size_t{o.sack_count}, o.sack_blocks_that_fit()));
    }
    return o;
}

// The payload that fits in a segment sent now: SND.MSS (which already counts the
// timestamp option) less the SACK blocks this segment will carry, so that header and data
// never exceed the MTU (Linux tcp_current_mss(): the header length of the options in use).
// Without this a data segment that carries SACK blocks is too big for DF and never leaves.
std::uint32_t Tcb::mss_now(time::Instant now) const noexcept {
    const std::size_t options = options_for(TcpFlags::ack, now).buffer_len();
    wire::TcpOptions counted;
    if (ts_enabled_) counted.timestamps = wire::TcpTimestamps{};
    const std::size_t extra = options > counted.buffer_len() ? options - counted.buffer_len() : 0;
    return extra < snd_mss_ ? static_cast<std::uint32_t>(snd_mss_ - extra) : 1;
}

void Tcb::send_segment(SeqNum seq, std::uint32_t len, std::uint8_t flags, time::Instant now) noexcept {
    wire::TcpRepr h;
    h.src_port = local_.port;
    h.dst_port = remote_.port;
    h.seq = seq;
    h.flags = flags;
    if ((flags & TcpFlags::ack) != 0) h.ack = rcv_nxt_;
    h.window = (flags & TcpFlags::syn) != 0
                   ? static_cast<std::uint16_t>(std::min<std::uint32_t>(config_.rcvbuf, 0xffff))
                   : window_to_advertise();
    if ((flags & TcpFlags::syn) != 0) rcv_adv_ = rcv_nxt_ + h.window;
    h.options = options_for(flags, now);
    h.payload_len = static_cast<std::uint16_t>(len);
    buf::PacketBuf payload;
    if (len > 0) {
        payload = tx_.slice(static_cast<std::uint32_t>(seq - snd_una_), len, pool_);
        if (!payload) return;  // no mbufs: the retransmission timer will try again
        last_data_sent_ = now;
    }
    if ((flags & TcpFlags::ack) != 0) {
        last_ack_sent_ = rcv_nxt_;
        unacked_segments_ = 0;
        delack_deadline_ = time::Instant::max();
        dsack_.reset();  // RFC 2883 §4: a duplicate is reported in one ACK only
    }
    output_.transmit(h, std::move(payload));
}

void Tcb::send_syn(bool with_ack, time::Instant now) noexcept {
    send_segment(iss_, 0, TcpFlags::syn | (with_ack ? TcpFlags::ack : 0), now);
    snd_nxt_ = iss_ + 1;
    snd_max_ = SeqNum::max(snd_max_, snd_nxt_);
    if (rto_deadline_ == time::Instant::max()) arm_retransmit(now);
}

// A pure ACK carries the highest sequence number sent (the RFC's SND.NXT, which pollux
// keeps as SND.MAX), not the rewound SND.NXT of an RTO's go-back-N: the peer has usually
// received far beyond SND.UNA, so an ACK at SND.UNA would fail its sequence test and its
// ACK field would be ignored. Found by the simulation matrix: two stacks in go-back-N at
// once each dropped the other's ACKs and answered them with ACKs, forever. Linux never
// rewinds snd_nxt (tcp_acceptable_seq() sends at snd_nxt).
void Tcb::send_ack(time::Instant now) noexcept { send_segment(snd_max_, 0, TcpFlags::ack, now); }

void Tcb::send_rst(SeqNum seq) noexcept {
    wire::TcpRepr h;
    h.src_port = local_.port;
    h.dst_port = remote_.port;
    h.seq = seq;
    h.ack = rcv_nxt_;
    h.flags = TcpFlags::rst | TcpFlags::ack;
    output_.transmit(h, {});
}

// RFC 6675 §4 SetPipe(): the bytes of [SND.UNA, SND.MAX) believed in the network. An
// un-SACKed byte counts once unless IsLost() says it left the network, and once more if it
// was retransmitted (below HighRxt). IsLost() being a boundary (sack_scoreboard.hpp), this
// is two interval sums over the scoreboard: O(ranges), not a walk over every octet.
std::uint32_t Tcb::pipe() const noexcept {
    const SeqNum lost_below = sack_.lost_boundary(snd_una_, snd_mss_);
    // Outside recovery HighRxt is HighACK (RFC 6675 §5 step 3.1): nothing counts twice.
    const SeqNum rxt_end = sack_recovery_ ? SeqNum::min(SeqNum::max(high_rxt_, snd_una_), snd_max_) : snd_una_;
    const auto not_lost = static_cast<std::uint32_t>(snd_max_ - lost_below) - sack_.sacked_between(lost_below, snd_max_);
    const auto resent = static_cast<std::uint32_t>(rxt_end - snd_una_) - sack_.sacked_between(snd_una_, rxt_end);
    // A retransmission found lost (retransmission_log.hpp) has left the network as well.
    const std::uint32_t resent_lost = std::min(resent, rxt_log_.lost_bytes(sack_, snd_una_, rxt_end));
    return not_lost + resent - resent_lost;
}

std::uint32_t Tcb::retransmit_range(SeqNum seq, std::uint32_t len, time::Instant now, bool by_next_seg) noexcept {
    const SeqNum data_end = snd_una_ + static_cast<std::uint32_t>(tx_.size());
    const std::uint32_t data_len = seq < data_end ? std::min(len, static_cast<std::uint32_t>(data_end - seq)) : 0;
    // Our FIN occupies the sequence number after the data; it is resent with the segment
    // that reaches it (or alone).
    const bool fin = fin_sent_ && seq + data_len == data_end && data_len < len && data_end < snd_max_;
    if (data_len == 0 && !fin) return 0;
    std::uint8_t flags = TcpFlags::ack;
    if (fin) flags |= TcpFlags::fin;
    ++total_retransmits_;
    if (by_next_seg) ++sack_stats_.retransmits;
    if (rtt_probe_ && rtt_probe_->first > seq) rtt_probe_.reset();  // Karn: that timing is ambiguous now
    send_segment(seq, data_len, flags, now);
    return data_len + (fin ? 1u : 0u);
}

std::uint32_t Tcb::sack_retransmit(bool after_new_data, time::Instant now) noexcept {
    const std::uint32_t mss = mss_now(now);
    // Before rule 1: a retransmission found lost goes again (below HighRxt, where RFC 6675
    // itself never returns).
    if (const auto again = rxt_log_.first_lost()) {
        rxt_log_.resent(again->start, snd_max_);
        const SeqNum begin = SeqNum::max(again->start, snd_una_);
        if (const auto hole = sack_.first_hole(begin, again->end)) {
            const std::uint32_t sent =
                retransmit_range(hole->start, std::min(static_cast<std::uint32_t>(hole->end - hole->start), mss), now);
            if (sent > 0) return sent;
        }
    }
    const SeqNum from = SeqNum::max(high_rxt_, snd_una_);
    // Resends (up to an MSS of) the first un-SACKed stretch in [from, limit), moving HighRxt
    // past it and logging it (RetransmissionLog): what rules 1 and 3 do.
    const auto resend_first_hole = [&](SeqNum limit) -> std::uint32_t {
        const auto hole = sack_.first_hole(from, limit);
        if (!hole) return 0;
        const std::uint32_t sent =
            retransmit_range(hole->start, std::min(static_cast<std::uint32_t>(hole->end - hole->start), mss), now);
        if (sent > 0) {
            high_rxt_ = hole->start + sent;
            rxt_log_.record(hole->start, high_rxt_, snd_max_);
        }
        return sent;
    };
    // Rule 1: the lowest un-SACKed byte above HighRxt that IsLost().
    if (const std::uint32_t sent = resend_first_hole(sack_.lost_boundary(snd_una_, snd_mss_))) return sent;
    if (!after_new_data) return 0;
    // Rule 3: an un-SACKed byte above HighRxt below the highest SACKed one, lost or not.
    if (const auto top = sack_.highest_sacked_end()) {
        if (const std::uint32_t sent = resend_first_hole(*top)) return sent;
    }
    // Rule 4, the rescue retransmission: once per recovery (HighACK > RescueRxt), a segment
    // that ends with the highest un-SACKed byte, so that a lost tail is repaired by the ACK
    // clock instead of the RTO. HighRxt stays; RescueRxt becomes RecoveryPoint.
    if (rescue_rxt_ && !(snd_una_ > *rescue_rxt_)) return 0;
    const auto last = sack_.highest_unsacked(snd_una_, snd_max_);
    if (!last) return 0;
    SeqNum start = snd_una_ + 0;
    if (*last + 1 - snd_una_ > static_cast<std::int32_t>(mss)) start = *last + 1 - mss;
    for (const SackScoreboard::Range& r : sack_.ranges()) {
        if (start < r.end && r.end <= *last) start = r.end;  // only the un-SACKed stretch
    }
    const std::uint32_t sent = retransmit_range(start, static_cast<std::uint32_t>(*last + 1 - start), now);
    if (sent > 0) rescue_rxt_ = recover_;
    return sent;
}

// Sends new data (and the FIN after it) while the peer's window, cwnd and Nagle allow. In
// SACK-based recovery (RFC 6675 §5 (C)) the budget is cwnd - pipe and every segment is
// chosen by NextSeg(): a lost one first (rule 1), then new data (rule 2), then the
// retransmissions of rules 3 and 4.
void Tcb::output(time::Instant now) noexcept {
    if (!sends_data(state_)) return;
    const auto data_end = static_cast<std::uint32_t>(tx_.size());
    // RFC 5681 §4.1 (Linux tcp_slow_start_after_idle_check): new data after an idle period
    // with nothing outstanding; past one RTO the ACK clock is gone and cwnd restarts.
    if (snd_una_ == snd_max_ && data_end > static_cast<std::uint32_t>(snd_nxt_ - snd_una_) && last_data_sent_) {
        cc_->on_idle_restart(now - *last_data_sent_, rtt_.rto());
        last_data_sent_ = now;  // idle time is handed over once, even if nothing leaves now
    }
    // RFC 3042 limited transmit: the first and second duplicate ACK each let one new
    // segment beyond cwnd leave (the receiver's window still applies), so that a small
    // window still produces the three duplicates fast retransmit needs. Only new data: not
    // during recovery, nor while an RTO's go-back-N resends below SND.MAX.
    // With SACK the SACKed bytes leave in_flight instead (RFC 6675 §5 step 3: limited
    // transmit by pipe), which already makes room for those segments.
    const std::uint32_t limited_transmit =
        !sack_enabled_ && !in_recovery_ && dupacks_ > 0 && dupacks_ < 3 && snd_nxt_ == snd_max_
            ? static_cast<std::uint32_t>(dupacks_) * snd_mss_
            : 0;
    std::uint32_t pipe_now = sack_recovery_ ? pipe() : 0;
    bool sent_new = false;
    while (true) {
        const std::uint32_t mss = mss_now(now);
        if (sack_recovery_) {
            if (cc_->cwnd() < pipe_now + mss) break;  // RFC 6675 §5 (C): cwnd - pipe >= 1 SMSS
            if (const std::uint32_t sent = sack_retransmit(false, now)) {
                pipe_now += sent;
                continue;
            }
        }
        // RFC 6675 §5.1: the go-back-N after an RTO skips what the peer SACKed.
        if (snd_nxt_ < snd_max_ && !sack_.empty()) {
            const auto hole = sack_.first_hole(snd_nxt_, snd_max_);
            snd_nxt_ = hole ? hole->start : snd_max_;
        }
        const auto offset = static_cast<std::uint32_t>(snd_nxt_ - snd_una_);
        const std::uint32_t in_flight = offset - sack_.sacked_between(snd_una_, snd_nxt_);
        const std::uint32_t available = offset < data_end ? data_end - offset : 0;
        const bool fin_due = fin_queued_ && offset <= data_end;
        // The rest of the loop sends from SND.NXT; when that cannot happen, recovery still
        // has NextSeg() rules 3 and 4.
        const auto nothing_new = [&]() {
            if (!sack_recovery_) return true;
            const std::uint32_t sent = sack_retransmit(true, now);
            pipe_now += sent;
            return sent == 0;
        };
        if (available == 0 && !fin_due) {
            if (nothing_new()) break;
            continue;
        }
        std::uint32_t usable = 0;
        if (sack_recovery_) {
            const std::uint32_t rwnd = snd_wnd_ > offset ? snd_wnd_ - offset : 0;
            usable = std::min(rwnd, cc_->cwnd() - pipe_now);
        } else {
            const std::uint32_t window = std::min(snd_wnd_, cc_->cwnd() + limited_transmit);
            usable = window > in_flight ? window - in_flight : 0;
            // The receiver's window counts every byte past SND.UNA, SACKed or not.
            usable = std::min(usable, snd_wnd_ > offset ? snd_wnd_ - offset : 0);
        }
        std::uint32_t len = std::min({available, usable, mss});
        if (snd_nxt_ < snd_max_) {  // go-back-N: up to the next SACKed byte
            if (const auto hole = sack_.first_hole(snd_nxt_, snd_max_)) {
                len = std::min(len, static_cast<std::uint32_t>(hole->end - snd_nxt_));
            }
        }
        if (available > 0 && len == 0) {
            // A zero window with nothing in flight: only the persist timer may probe it.
            if (snd_wnd_ == 0 && in_flight == 0 && persist_deadline_ == time::Instant::max()) {
                persist_deadline_ = now + rtt_.rto();
            }
            if (nothing_new()) break;
            continue;
        }
        // Nagle (RFC 896, RFC 9293 §3.7.4) with Minshall's refinement, as Linux applies it
        // (tcp_nagle_check, tcp_minshall_check): a small segment of new data waits only
        // while an earlier small segment is unacknowledged — not behind full-sized ones, so
        // the tail of a response of a few segments leaves with them instead of waiting for
        // the peer's delayed ACK — and never when it is the last one before our FIN. (A
        // resent stretch that ends at SACKed data is short for that reason only: it leaves.)
        const bool last = len == available;
        const bool fresh = snd_nxt_ == snd_max_;
        const bool small_unacked = snd_sml_ > snd_una_ && snd_sml_ <= snd_nxt_;
        const bool nagle = fresh && len > 0 && len < mss && !config_.nodelay && !push_ && in_flight > 0 &&
                           small_unacked && !(last && fin_queued_);
        if (nagle || (fresh && len > 0 && held_by_cork(len, last))) {
            if (nothing_new()) break;
            continue;
        }
        std::uint8_t flags = TcpFlags::ack;
        if (len > 0 && last) flags |= TcpFlags::psh;
        if (fin_due && last) flags |= TcpFlags::fin;
        send_segment(snd_nxt_, len, flags, now);
        if (len > 0 && len < mss) snd_sml_ = snd_nxt_ + len;  // tcp_minshall_update()
        if (limited_transmit > 0 && in_flight + len > cc_->cwnd()) {
            limited_transmit_bytes_ += std::min(len, in_flight + len - cc_->cwnd());
        }
        if (!rtt_probe_ && len > 0 && snd_nxt_ == snd_max_) rtt_probe_ = {snd_nxt_ + len, now};
        const std::uint32_t used = len + ((flags & TcpFlags::fin) != 0 ? 1u : 0u);
        sent_new = sent_new || (fresh && used > 0);
        snd_nxt_ = snd_nxt_ + used;
        snd_max_ = SeqNum::max(snd_max_, snd_nxt_);
        pipe_now += used;
        if (rto_deadline_ == time::Instant::max()) arm_retransmit(now);
        if ((flags & TcpFlags::fin) != 0) {
            fin_sent_ = true;
            break;
        }
    }
    // RFC 8985 §7.2: new data sent (re)starts the probe timer (Linux tcp_write_xmit()).
    if (sent_new) schedule_loss_probe(now);
}

}  // namespace pollux::tcp
