// EpollFile: an epoll instance as an entry of the API's fd table. Epoll fds share the
// socket fd space (Linux: one file table), so px_close, px_fcntl and the fd checks work on
// them unchanged; the socket calls answer ENOTSOCK through the Socket interface.
//
// Contract: as src/event/epoll.hpp (inline mode: the owner thread only).
#pragma once

#include <cerrno>

#include "event/epoll.hpp"
#include "socket/socket.hpp"

namespace pollux::api {

class EpollFile final : public socket::Socket {
public:
    EpollFile() noexcept : Socket(0, 0) {}

    event::Epoll* as_epoll() noexcept override { return &epoll_; }
    event::Epoll& epoll() noexcept { return epoll_; }

    // ---- not a socket ----
    int bind(const wire::Endpoint&) noexcept override { return -ENOTSOCK; }
    int connect(const socket::Destination&, time::Instant) noexcept override { return -ENOTSOCK; }
    long sendmsg(std::span<const iovec>, const socket::Destination&, int, time::Instant) noexcept override {
        return -ENOTSOCK;
    }
    long recvmsg(std::span<const iovec>, int, socket::RecvMeta&) noexcept override { return -ENOTSOCK; }
    int shutdown(int) noexcept override { return -ENOTSOCK; }
    int local_endpoint(wire::Endpoint&) const noexcept override { return -ENOTSOCK; }
    int remote_endpoint(wire::Endpoint&) const noexcept override { return -ENOTSOCK; }
    int bytes_readable() const noexcept override { return 0; }
    int listen(int) noexcept override { return -ENOTSOCK; }
    int accept(socket::Socket*&, wire::Endpoint&) noexcept override { return -ENOTSOCK; }

    // close(2) of the epoll fd: ep_free() — every item leaves its target's watcher list.
    void close() noexcept override { epoll_.clear(); }

    // ep_eventpoll_poll() would report EPOLLIN while items are queued; nesting is not
    // supported yet (EPOLL_CTL_ADD of an epoll fd is EPERM), so nothing asks.
    std::uint32_t poll_mask() const noexcept override { return 0; }

private:
    event::Epoll epoll_;
};

}  // namespace pollux::api
