// CongestionControl: the sender's congestion window (cwnd) and slow-start threshold
// (ssthresh) for one TCP connection, and the events that move them. Two algorithms
// implement it: NewReno (new_reno.hpp, RFC 5681 + RFC 6582) and CUBIC (cubic.hpp,
// RFC 9438); make_congestion_control() picks one by its Linux TCP_CONGESTION name.
//
// Pure state: no clock reads (every event that needs time is handed `now`), no DPDK, no
// allocation after construction. All windows are in bytes; the sender's MSS (SMSS) is
// given at construction and by set_mss().
//
// Who does what. The TCB owns loss detection and retransmission; this object owns only
// the two numbers. The TCB calls, per RFC 5681 §3.2 and RFC 6582 §3.2:
// - on_ack() for every ACK that acknowledges new data outside fast recovery. ACKs during
//   recovery go to the recovery calls below; duplicate ACKs never come here.
// - on_enter_recovery(FlightSize) on the third duplicate ACK (or RFC 6675's loss
//   trigger), after it recorded `recover` = SND.NXT (RFC 6582 step 1 and 2) and before
//   it retransmits the first unacknowledged segment. Here: ssthresh = the algorithm's
//   reduction of FlightSize (never below 2*SMSS, RFC 5681 eq. 4) and
//   cwnd = ssthresh + 3*SMSS (RFC 6582 step 2, the three segments that left the network).
// - on_dupack_in_recovery() for each further duplicate ACK: cwnd += SMSS (RFC 6582
//   step 3, window inflation); the TCB then sends new data if cwnd and rwnd allow.
// - on_partial_ack(acked) for an ACK that advances SND.UNA but not past `recover`
//   (RFC 6582 step 5): cwnd -= acked, plus SMSS back if acked >= SMSS. The TCB
//   retransmits the next hole and re-arms the RTO timer on the first partial ACK.
// - on_exit_recovery(FlightSize) for the full ACK (covering `recover`), FlightSize being
//   what is outstanding after it (RFC 6582 step 6, option 1):
//   cwnd = min(ssthresh, max(FlightSize, SMSS) + SMSS).
// - with SACK (RFC 6675 §5 step 4.2), on_enter_loss_recovery(FlightSize) instead of
//   on_enter_recovery(): ssthresh as above and cwnd = ssthresh, no inflation; the TCB
//   then sends while cwnd - pipe >= SMSS, and ACKs during that recovery change neither
//   number (no on_dupack_in_recovery / on_partial_ack). When the cumulative ACK covers
//   RecoveryPoint the TCB calls on_exit_recovery() as for NewReno.
// - on_rto(FlightSize) when the retransmission timer expires for data not yet resent by
//   the timer (RFC 5681 eq. 4's condition): ssthresh reduced as above, cwnd = 1*SMSS, the
//   loss window (RFC 5681 §3.1). On a second expiry for the same segment the TCB must not
//   call it again: FlightSize would then be tiny and ssthresh would collapse to 2*SMSS.
// - on_idle_restart(idle, rto) before sending after `idle` with nothing outstanding,
//   whatever its length: when idle > RTO, cwnd = min(cwnd, IW), the restart window
//   (RFC 5681 §4.1); CUBIC also keeps shorter idle time out of its curve.
//
// Units in on_ack(): `acked_bytes` is what the ACK newly acknowledged; `bytes_in_flight`
// is what was outstanding when the ACK arrived (SND.NXT - SND.UNA before SND.UNA moved).
// The window grows only when the sender was limited by it (Linux tcp_is_cwnd_limited(),
// RFC 7661's principle): in slow start while cwnd < 2 * bytes_in_flight, in congestion
// avoidance while bytes_in_flight + SMSS >= cwnd (the sender filled the window to within
// one segment). An application-limited sender does not inflate a window it never used.
//
// Initial values: cwnd = IW = min(10*MSS, max(2*MSS, 14600)) (RFC 6928 §2); ssthresh is
// "arbitrarily high" (RFC 5681 §3.1), 0x7fffffff as Linux, which tcp_info readers show as
// infinity.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

#include "time/instant.hpp"

namespace pollux::tcp {

class CongestionControl {
public:
    // Linux's TCP_INFINITE_SSTHRESH.
    static constexpr std::uint32_t infinite_ssthresh = 0x7fffffffu;
    // A ceiling far above any real window (RFC 7323 windows stop below 2^30), so that byte
    // arithmetic on cwnd can never wrap.
    static constexpr std::uint32_t max_cwnd = 1u << 30;

    // RFC 6928 §2: IW = min(10*MSS, max(2*MSS, 14600)).
    static constexpr std::uint32_t initial_window(std::uint32_t mss) noexcept {
        const std::uint64_t ten = std::uint64_t{10} * mss;
        const std::uint64_t floor = std::uint64_t{2} * mss > 14600 ? std::uint64_t{2} * mss : 14600;
        return static_cast<std::uint32_t>(ten < floor ? ten : floor);
    }

    // mss must be non-zero.
    explicit CongestionControl(std::uint32_t mss) noexcept;
    virtual ~CongestionControl() = default;
    CongestionControl(const CongestionControl&) = delete;
    CongestionControl& operator=(const CongestionControl&) = delete;

    // The Linux TCP_CONGESTION name: "reno" or "cubic".
    virtual const char* name() const noexcept = 0;

    // Normal operation: an ACK newly acknowledged `acked_bytes` (see the header comment
    // for the units). `rtt` is this ACK's RTT sample, if it yielded one (Karn's rule
    // applied); algorithms that need an RTT keep their own view of it.
    virtual void on_ack(std::uint32_t acked_bytes, std::uint32_t bytes_in_flight, time::Instant now,
                        std::optional<time::Duration> rtt) noexcept = 0;

    // Fast retransmit / fast recovery (RFC 6582), see the header comment.
    virtual void on_enter_recovery(std::uint32_t flight_size, time::Instant now) noexcept;
    virtual void on_dupack_in_recovery() noexcept;
    virtual void on_partial_ack(std::uint32_t acked_bytes) noexcept;
    virtual void on_exit_recovery(std::uint32_t flight_size) noexcept;
    // SACK-based loss recovery (RFC 6675 §5), see the header comment.
    virtual void on_enter_loss_recovery(std::uint32_t flight_size, time::Instant now) noexcept;

    // Retransmission timeout (RFC 5681 §3.1, eq. 4, and the loss window).
    virtual void on_rto(std::uint32_t flight_size, time::Instant now) noexcept;

    // Restart after idle (RFC 5681 §4.1).
    virtual void on_idle_restart(time::Duration idle, time::Duration rto) noexcept;

    // A new sender MSS (path MTU change, or the MSS learnt in the handshake). Before any
    // ACK or loss has touched the window, cwnd is re-derived as the IW of the new MSS;
    // afterwards cwnd keeps its byte count (raised to one MSS if smaller).
    virtual void set_mss(std::uint32_t mss) noexcept;

    std::uint32_t cwnd() const noexcept { return cwnd_; }
    std::uint32_t ssthresh() const noexcept { return ssthresh_; }
    std::uint32_t mss() const noexcept { return mss_; }
    bool in_slow_start() const noexcept { return cwnd_ < ssthresh_; }

protected:
    // The algorithm's multiplicative decrease on a congestion event (fast retransmit when
    // `timeout` is false, RTO when true), called before cwnd changes: returns the new
    // ssthresh in bytes before the 2*SMSS floor, which the caller applies. The algorithm
    // also resets whatever per-epoch state it keeps.
    virtual std::uint32_t on_congestion_event(std::uint32_t flight_size, time::Instant now,
                                              bool timeout) noexcept = 0;

    // Was the sender limited by cwnd when this ACK arrived? (Header comment.)
    bool cwnd_limited(std::uint32_t bytes_in_flight) const noexcept;

    // RFC 5681 §3.1 slow start with RFC 3465's L = 1 SMSS: cwnd += min(acked, SMSS), never
    // past ssthresh. Returns the acked bytes left over for congestion avoidance when this
    // ACK carried cwnd up to ssthresh, else 0. Call only while in_slow_start().
    std::uint32_t slow_start(std::uint32_t acked_bytes) noexcept;

    void set_cwnd(std::uint64_t bytes) noexcept;
    void set_ssthresh(std::uint32_t bytes) noexcept { ssthresh_ = bytes; }

private:
    std::uint32_t mss_;
    std::uint32_t cwnd_;
    std::uint32_t ssthresh_ = infinite_ssthresh;
    bool touched_ = false;  // has any event other than set_mss() changed cwnd?
};

// The algorithm named `name` ("reno", "cubic"), or null for an unknown name (setsockopt
// TCP_CONGESTION then fails with ENOENT, as on Linux). Allocates: call at setup time.
std::unique_ptr<CongestionControl> make_congestion_control(std::string_view name, std::uint32_t mss);

}  // namespace pollux::tcp
