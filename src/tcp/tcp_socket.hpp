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

    void transmit(const wire::TcpRepr& header, buf::PacketBuf&& payload) noexcept override;

    // ---- the layer's side ----
    void deliver(Segment&& segment, time::Instant now) noexcept;
    // A SYN for this listener (checked: SYN without ACK/RST); false when it was dropped.
    bool accept_syn(const wire::TcpRepr& syn, const wire::Endpoint& local, const wire::Endpoint& remote,
                    time::Instant now) noexcept;
    void icmp_error(int error, bool hard, time::Instant now) noexcept;
    bool listening() const noexcept { return listening_; }
    // Linux sk_acceptq_is_full(): more than the backlog (a backlog of 0 still takes one).
    bool accept_queue_full() const noexcept { return accept_queue_.size() > static_cast<std::size_t>(backlog_); }
    const Tcb* tcb() const noexcept { return tcb_.get(); }
    TcpSocket* parent() const noexcept { return parent_; }
    const wire::Endpoint& local() const noexcept { return local_; }
    const wire::Endpoint& remote() const noexcept { return remote_; }

private:
    // IPPROTO_TCP options: TCP_NODELAY; the others (TCP_MAXSEG, TCP_CORK, TCP_KEEPIDLE,
    // TCP_INFO, TCP_CONGESTION, ...) are not there yet: ENOPROTOOPT.
    int protocol_setsockopt(int level, int name, std::span<const std::uint8_t> value) noexcept override;
    int protocol_getsockopt(int level, int name, std::span<std::uint8_t> out, std::size_t& len) noexcept override;
    void after_event(time::Instant now) noexcept;
    void promote(TcpSocket& child) noexcept;  // SYN-RECEIVED -> accept queue
    void forget_embryo(TcpSocket& child) noexcept;
    void make_tcb();
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
    bool nodelay_ = false;
    std::uint32_t retransmits_counted_ = 0;  // the TCB's retransmissions already in RetransSegs
    int backlog_ = 0;
    TcpSocket* parent_ = nullptr;
    std::vector<std::unique_ptr<TcpSocket>> embryos_;
    std::deque<std::unique_ptr<TcpSocket>> accept_queue_;
    time::Timer timer_;
};

}  // namespace pollux::tcp
