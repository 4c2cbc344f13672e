// Tcb output: what may leave now (RFC 9293 §3.8.6, RFC 5681 cwnd, RFC 896 Nagle), the
// segments themselves, and the window we advertise.
#include <algorithm>

#include "tcp/tcb.hpp"

namespace pollux::tcp {

using wire::SeqNum;
using wire::TcpFlags;

namespace {
// The timestamp clock: milliseconds, as Linux's tcp_time_stamp (RFC 7323 §5.4 allows
// 1 ms to 1 s per tick).
std::uint32_t ts_clock(time::Instant now) noexcept { return static_cast<std::uint32_t>(now.ns() / 1'000'000); }
}  // namespace

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
    if (sack_enabled_ && !ooo_.empty() && (flags & TcpFlags::rst) == 0) {
        o.sack_count = static_cast<std::uint8_t>(ooo_.sack_blocks(o.sack_blocks));
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

// Sends new data (and the FIN after it) while the peer's window, cwnd and Nagle allow.
void Tcb::output(time::Instant now) noexcept {
    switch (state_) {
        case State::established:
        case State::close_wait:
        case State::fin_wait_1:
        case State::closing:
        case State::last_ack:
            break;
        default:
            return;
    }
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
    const std::uint32_t limited_transmit =
        !in_recovery_ && dupacks_ > 0 && dupacks_ < 3 && snd_nxt_ == snd_max_
            ? static_cast<std::uint32_t>(dupacks_) * snd_mss_
            : 0;
    while (true) {
        const auto offset = static_cast<std::uint32_t>(snd_nxt_ - snd_una_);
        const std::uint32_t in_flight = offset;
        const std::uint32_t available = offset < data_end ? data_end - offset : 0;
        const bool fin_due = fin_queued_ && offset <= data_end;
        if (available == 0 && !fin_due) break;
        const std::uint32_t window = std::min(snd_wnd_, cc_->cwnd() + limited_transmit);
        const std::uint32_t usable = window > in_flight ? window - in_flight : 0;
        const std::uint32_t mss = mss_now(now);
        std::uint32_t len = std::min({available, usable, mss});
        if (available > 0 && len == 0) {
            // A zero window with nothing in flight: only the persist timer may probe it.
            if (snd_wnd_ == 0 && in_flight == 0 && persist_deadline_ == time::Instant::max()) {
                persist_deadline_ = now + rtt_.rto();
            }
            break;
        }
        // Nagle (RFC 896, RFC 9293 §3.7.4): a small segment waits while data is unacknowledged,
        // unless it is the last one before our FIN.
        const bool last = len == available;
        if (len > 0 && len < mss && !config_.nodelay && !push_ && in_flight > 0 && !(last && fin_queued_)) break;
        if (len > 0 && held_by_cork(len, last)) break;
        std::uint8_t flags = TcpFlags::ack;
        if (len > 0 && last) flags |= TcpFlags::psh;
        if (fin_due && last) flags |= TcpFlags::fin;
        send_segment(snd_nxt_, len, flags, now);
        if (limited_transmit > 0 && in_flight + len > cc_->cwnd()) {
            limited_transmit_bytes_ += std::min(len, in_flight + len - cc_->cwnd());
        }
        if (!rtt_probe_ && len > 0 && snd_nxt_ == snd_max_) rtt_probe_ = {snd_nxt_ + len, now};
        snd_nxt_ = snd_nxt_ + len + ((flags & TcpFlags::fin) != 0 ? 1u : 0u);
        snd_max_ = SeqNum::max(snd_max_, snd_nxt_);
        if (rto_deadline_ == time::Instant::max()) arm_retransmit(now);
        if ((flags & TcpFlags::fin) != 0) {
            fin_sent_ = true;
            break;
        }
    }
}

}  // namespace pollux::tcp
