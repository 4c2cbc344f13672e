// TcpSocket: a SOCK_STREAM socket — the Socket calls on top of a Tcb, listen/accept, and
// the glue to the layer (its timer on the shard's wheel, its place in the 4-tuple table).
//
// Ownership: the application owns a socket through its fd. A listener owns its embryonic
// connections (SYN-RECEIVED) and its accept queue until accept() hands one out. close()
// of a connection that must still finish (FIN exchange, TIME-WAIT) hands it to the layer
// as an orphan, which frees it when its TCB reaches CLOSED.
#pragma once

#include <deque>
#include <memory>
#include <optional>
#include <vector>

#include "socket/socket.hpp"
#include "tcp/tcb.hpp"
#include "tcp/tcp_layer.hpp"
#include "time/timer_wheel.hpp"

namespace pollux::tcp {

class TcpSocket final : public socket::Socket, public SegmentOutput {
public:
    explicit TcpSocket(TcpLayer& layer);
    ~TcpSocket() override;

    int bind(const wire::Endpoint& local) noexcept override;
    int connect(const socket::Destination& to, time::Instant now) noexcept override;
    long sendmsg(std::span<const iovec> data, const socket::Destination& to, int flags,
                 time::Instant now) noexcept override;
    long recvmsg(std::span<const iovec> data, int flags, socket::RecvMeta& meta) noexcept override;
    int shutdown(int how) noexcept override;
    int local_endpoint(wire::Endpoint& out) const noexcept override;
    int remote_endpoint(wire::Endpoint& out) const noexcept override;
    int bytes_readable() const noexcept override;
    void close() noexcept override;
    bool orphaned_on_close() const noexcept override { return orphan_; }
    int listen(int backlog) noexcept override;
    int accept(socket::Socket*& out, wire::Endpoint& peer) noexcept override;
    int finish_connect() noexcept override;
    bool accepting() const noexcept override { return listening_; }
    // tcp_poll(): computed from the TCB (or the accept queue) whenever epoll asks.
    std::uint32_t poll_mask() const noexcept override;

    void transmit(const wire::TcpRepr& header, buf::PacketBuf&& payload) noexcept override;

    // ---- the layer's side ----
    void deliver(Segment&& segment, time::Instant now) noexcept;
    // A SYN for this listener (checked: SYN without ACK/RST); false when it was dropped.
    bool accept_syn(const wire::TcpRepr& syn, const wire::Endpoint& local, const wire::Endpoint& remote,
                    time::Instant now) noexcept;
    // An ACK (without SYN/RST) for this listener that matched no connection: maybe the
    // return of a SYN cookie (syn_cookie.hpp).
    enum class CookieResult : std::uint8_t {
        not_checked,  // no cookie can be out there: the caller answers as for LISTEN (RST)
        invalid,      // not a valid cookie (counted): the same
        dropped,      // a valid cookie, but the accept queue is full (counted)
        accepted,     // the connection was made and the ACK delivered to it
    };
    CookieResult accept_cookie(Segment&& ack, const wire::Endpoint& local, const wire::Endpoint& remote,
                               time::Instant now) noexcept;
    void icmp_error(int error, bool hard, time::Instant now) noexcept;
    // Tcb::path_mtu_reduced; false when the MTU was not below the current path MTU.
    bool path_mtu_reduced(std::uint32_t mtu, time::Instant now) noexcept;
    // Holds one of the layer's TIME-WAIT places (TcpLayer::admit_time_wait).
    bool time_wait_counted() const noexcept { return time_wait_counted_; }
    bool listening() const noexcept { return listening_; }
    // Linux sk_acceptq_is_full(): more than the backlog (a backlog of 0 still takes one).
    bool accept_queue_full() const noexcept { return accept_queue_.size() > static_cast<std::size_t>(backlog_); }
    const Tcb* tcb() const noexcept { return tcb_.get(); }
    TcpSocket* parent() const noexcept { return parent_; }
    const wire::Endpoint& local() const noexcept { return local_; }
    const wire::Endpoint& remote() const noexcept { return remote_; }

private:
    // IPPROTO_TCP options as tcp(7) documents them: TCP_NODELAY, TCP_CORK, TCP_MAXSEG,
    // TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT, TCP_SYNCNT, TCP_CONGESTION, and TCP_INFO
    // to read; others are ENOPROTOOPT.
    int protocol_setsockopt(int level, int name, std::span<const std::uint8_t> value) noexcept override;
    int protocol_getsockopt(int level, int name, std::span<std::uint8_t> out, std::size_t& len) noexcept override;
    void keepalive_changed() noexcept override;
    int take_protocol_error() noexcept override { return tcb_ ? tcb_->take_error() : 0; }
    // A connection's path MTU (RFC 1191, lowered by ICMP); ENOTCONN unconnected or closed.
    int path_mtu() const noexcept override {
        if (!tcb_ || tcb_->state() == State::closed) return -ENOTCONN;
        return static_cast<int>(tcb_->path_mtu());
    }
    // tcp_disconnect(): the connection is gone and the socket unconnected again.
    void drop_tcb() noexcept;
    int set_congestion(std::span<const std::uint8_t> value) noexcept;
    void after_event(time::Instant now) noexcept;
    void count_tcb_events() noexcept;
    void track_time_wait(time::Instant now) noexcept;  // the layer's TIME-WAIT count and cap
    void promote(TcpSocket& child) noexcept;  // SYN-RECEIVED -> accept queue
    void forget_embryo(TcpSocket& child) noexcept;
    void make_tcb();
    // The listener's TCB parameters with the socket options applied (buffers, keepalive,
    // TCP_MAXSEG): what make_tcb() builds a TCB with, and what a cookie SYN-ACK offers.
    TcbConfig effective_tcb_config() const noexcept;
    // A connection of this listener for the 4-tuple: socket, port, options, TCB, hashed.
    std::unique_ptr<TcpSocket> make_child(const wire::Endpoint& local, const wire::Endpoint& remote) noexcept;
    void send_cookie_syn_ack(const wire::TcpRepr& syn, const wire::Endpoint& local, const wire::Endpoint& remote,
                             time::Instant now) noexcept;
    void leave_syn_queue(TcpSocket& child) noexcept;
    static void on_timer(time::Timer& timer, time::Instant now, void* self) noexcept;

    TcpLayer& layer_;
    std::unique_ptr<Tcb> tcb_;
    wire::Endpoint local_;
    wire::Endpoint remote_;
    bool bound_ = false;
    bool hashed_ = false;
    bool listening_ = false;
    bool orphan_ = false;
    bool connecting_ = false;
    bool time_wait_counted_ = false;
    // The TCB's parameters as the socket options set them (nodelay, cork, keepalive, SYN
    // retries, congestion control); a child copies its listener's, as Linux clones the
    // listener's tcp_sock. The buffer sizes come from SO_RCVBUF/SO_SNDBUF at make_tcb().
    TcbConfig tcb_config_;
    int user_mss_ = 0;  // TCP_MAXSEG (Linux rx_opt.user_mss): clamps the MSS we announce and use
    // What of the TCB's own statistics is in the layer's counters already (a new TCB
    // starts from zero again).
    struct Counted {
        std::uint32_t retransmits = 0;  // RetransSegs
        SackStats sack;
        std::uint32_t challenge_acks = 0;
        std::uint32_t challenge_acks_skipped = 0;
        InputDrops drops;
        std::uint32_t dsacks_sent_old = 0;
        std::uint32_t dsacks_sent_ofo = 0;
        bool estab_reset = false;  // EstabResets
    };
    Counted counted_;
    int backlog_ = 0;
    TcpSocket* parent_ = nullptr;
    bool in_syn_queue_ = false;  // an embryo counted in the shard's syn_backlog
    // When a SYN queue overflow last made this listener send cookies (Linux
    // tcp_synq_overflow()): cookies are checked only for two minutes after it.
    std::optional<time::Instant> last_syn_queue_overflow_;
    std::vector<std::unique_ptr<TcpSocket>> embryos_;
    std::deque<std::unique_ptr<TcpSocket>> accept_queue_;
    time::Timer timer_;
};

}  // namespace pollux::tcp
