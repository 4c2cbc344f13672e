#include "tcp/tcp_info.hpp"

#include <algorithm>
#include <cstring>

namespace pollux::tcp {

namespace {

// RFC 7323's timestamp option, aligned (Linux TCPOLEN_TSTAMP_ALIGNED).
constexpr std::uint32_t kTimestampOptionLen = 12;
// Duplicate ACKs that trigger fast retransmit (RFC 5681 §3.2): the reordering degree
// pollux assumes, as Linux's tp->reordering starts at net.ipv4.tcp_reordering = 3.
constexpr std::uint32_t kDupackThreshold = 3;

std::uint8_t saturate_u8(std::uint32_t v) noexcept { return static_cast<std::uint8_t>(std::min<std::uint32_t>(v, 0xff)); }

std::uint32_t ceil_div(std::uint32_t a, std::uint32_t b) noexcept { return b == 0 ? 0 : (a + b - 1) / b; }

// Linux's icsk_ca_state (tcp_set_ca_state callers): Loss from an RTO until the data sent
// before it is acknowledged (pollux: until an ACK makes progress, which is when the TCB
// clears its count of consecutive timeouts), Recovery during fast recovery (RFC 6582),
// Disorder while duplicate ACKs arrive below the threshold, else Open.
std::uint8_t ca_state(const Tcb& tcb) noexcept {
    if (tcb.consecutive_timeouts() > 0) return TCP_CA_Loss;
    if (tcb.in_fast_recovery()) return TCP_CA_Recovery;
    if (tcb.duplicate_acks() > 0) return TCP_CA_Disorder;
    return TCP_CA_Open;
}

}  // namespace

std::uint8_t linux_tcp_state(State s) noexcept {
    switch (s) {
        case State::established: return TCP_ESTABLISHED;
        case State::syn_sent: return TCP_SYN_SENT;
        case State::syn_received: return TCP_SYN_RECV;
        case State::fin_wait_1: return TCP_FIN_WAIT1;
        case State::fin_wait_2: return TCP_FIN_WAIT2;
        case State::time_wait: return TCP_TIME_WAIT;
        case State::closed: return TCP_CLOSE;
        case State::close_wait: return TCP_CLOSE_WAIT;
        case State::last_ack: return TCP_LAST_ACK;
        case State::listen: return TCP_LISTEN;
        case State::closing: return TCP_CLOSING;
    }
    return TCP_CLOSE;
}

const char* linux_tcp_state_name(std::uint8_t linux_state) noexcept {
    switch (linux_state) {
        case TCP_ESTABLISHED: return "ESTABLISHED";
        case TCP_SYN_SENT: return "SYN_SENT";
        case TCP_SYN_RECV: return "SYN_RECV";
        case TCP_FIN_WAIT1: return "FIN_WAIT1";
        case TCP_FIN_WAIT2: return "FIN_WAIT2";
        case TCP_TIME_WAIT: return "TIME_WAIT";
        case TCP_CLOSE: return "CLOSE";
        case TCP_CLOSE_WAIT: return "CLOSE_WAIT";
        case TCP_LAST_ACK: return "LAST_ACK";
        case TCP_LISTEN: return "LISTEN";
        case TCP_CLOSING: return "CLOSING";
        default: return "UNKNOWN";
    }
}

// Linux tcp_get_info(), field by field. Left 0 because the Tcb does not keep what they
// report: tcpi_retrans (no per-segment retransmit marks), tcpi_rcv_rtt / tcpi_rcv_space (no receiver-side RTT or receive-buffer
// autotuning). tcpi_fackets and tcpi_last_ack_sent are 0 on Linux too. The last_* times
// are milliseconds before `now`; one that never happened counts from the connection's
// start in Linux and reads 0 here.
void fill_tcp_info(const Tcb& tcb, time::Instant now, struct tcp_info& out) noexcept {
    std::memset(&out, 0, sizeof out);
    const State state = tcb.state();
    out.tcpi_state = linux_tcp_state(state);
    out.tcpi_ca_state = ca_state(tcb);
    out.tcpi_retransmits = saturate_u8(static_cast<std::uint32_t>(tcb.consecutive_timeouts()));
    out.tcpi_backoff = saturate_u8(tcb.rtt().backoffs());

    // The options are agreed by the peer's SYN or SYN-ACK: none while ours is unanswered.
    const bool negotiated = state != State::syn_sent && state != State::closed;
    const TcbConfig& config = tcb.config();
    if (negotiated) {
        if (tcb.timestamps_enabled()) out.tcpi_options |= TCPI_OPT_TIMESTAMPS;
        if (tcb.sack_enabled()) out.tcpi_options |= TCPI_OPT_SACK;
        // negotiate() sets a shift only when both sides sent the option (RFC 7323 §2.2).
        if (tcb.snd_wscale() != 0 || tcb.rcv_wscale() != 0) {
            out.tcpi_options |= TCPI_OPT_WSCALE;
            out.tcpi_snd_wscale = tcb.snd_wscale() & 0xf;
            out.tcpi_rcv_wscale = tcb.rcv_wscale() & 0xf;
        }
    }

    const RttEstimator& rtt = tcb.rtt();
    out.tcpi_rto = rtt.tcpi_rto_us();
    // Linux reports icsk_ack.ato; pollux's delayed-ACK timeout is a fixed TCP_DELACK_MIN.
    out.tcpi_ato = static_cast<std::uint32_t>(config.delayed_ack.us());
    out.tcpi_snd_mss = tcb.effective_mss();

    // Linux's packets_out: segments sent and not acknowledged, counted up to SND.MAX (an
    // RTO rewinds SND.NXT, not what is outstanding). pollux keeps bytes, so this is the
    // count of full-sized segments that hold them (a SYN or FIN alone counts as one).
    const auto flight = static_cast<std::uint32_t>(tcb.snd_max() - tcb.snd_una());
    out.tcpi_unacked = ceil_div(flight, tcb.effective_mss());
    // sacked_out and lost_out from the SACK scoreboard (RFC 6675 IsLost), in segments too.
    const SackScoreboard& sacks = tcb.sack_scoreboard();
    out.tcpi_sacked = ceil_div(sacks.sacked_between(tcb.snd_una(), tcb.snd_max()), tcb.effective_mss());
    const wire::SeqNum lost_below = sacks.lost_boundary(tcb.snd_una(), tcb.effective_mss());
    out.tcpi_lost = ceil_div(static_cast<std::uint32_t>(lost_below - tcb.snd_una()) -
                                 sacks.sacked_between(tcb.snd_una(), lost_below),
                             tcb.effective_mss());

    // Linux's advmss drops by the timestamp option once it is agreed
    // (tcp_rcv_synsent_state_process()): the payload per segment we invite.
    out.tcpi_advmss = config.mss - (negotiated && tcb.timestamps_enabled() ? kTimestampOptionLen : 0);
    out.tcpi_pmtu = tcb.path_mtu();  // icsk_pmtu_cookie: the MTU the MSS came from, or what ICMP lowered it to
    // Linux's rcv_ssthresh bounds the window it offers; pollux offers up to the receive
    // buffer, never beyond what the 16-bit field scaled by our shift can carry.
    out.tcpi_rcv_ssthresh = std::min<std::uint32_t>(config.rcvbuf, std::uint32_t{0xffff} << tcb.rcv_wscale());

    out.tcpi_rtt = rtt.tcpi_rtt_us();
    out.tcpi_rttvar = rtt.tcpi_rttvar_us();

    // Linux keeps cwnd and ssthresh in segments; pollux in bytes (congestion_control.hpp).
    const CongestionControl& cc = tcb.congestion();
    out.tcpi_snd_cwnd = cc.cwnd() / cc.mss();
    out.tcpi_snd_ssthresh = cc.ssthresh() >= CongestionControl::infinite_ssthresh
                                ? CongestionControl::infinite_ssthresh
                                : cc.ssthresh() / cc.mss();
    out.tcpi_reordering = kDupackThreshold;
    out.tcpi_total_retrans = tcb.retransmits();
    out.tcpi_probes = saturate_u8(static_cast<std::uint32_t>(tcb.probes_out()));
    out.tcpi_rcv_mss = tcb.largest_segment_received();
    const auto ms_since = [now](const std::optional<time::Instant>& t) -> std::uint32_t {
        return t && now >= *t ? static_cast<std::uint32_t>(std::min<std::int64_t>((now - *t).ns() / 1'000'000, UINT32_MAX)) : 0;
    };
    out.tcpi_last_data_sent = ms_since(tcb.last_data_sent());
    out.tcpi_last_data_recv = ms_since(tcb.last_data_received());
    out.tcpi_last_ack_recv = ms_since(tcb.last_ack_received());
}

void fill_listener_tcp_info(std::uint32_t accept_queue, std::uint32_t backlog, struct tcp_info& out) noexcept {
    std::memset(&out, 0, sizeof out);
    out.tcpi_state = TCP_LISTEN;
    out.tcpi_unacked = accept_queue;
    out.tcpi_sacked = backlog;
}

void fill_closed_tcp_info(struct tcp_info& out) noexcept {
    std::memset(&out, 0, sizeof out);
    out.tcpi_state = TCP_CLOSE;
}

}  // namespace pollux::tcp
