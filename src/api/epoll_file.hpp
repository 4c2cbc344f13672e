// EpollFile: an epoll instance as an entry of the API's fd table. Epoll fds share the
// socket fd space (Linux: one file table), so px_close, px_fcntl and the fd checks work on
// them unchanged; the socket calls answer ENOTSOCK through the Socket interface.
//
// Contract: as src/event/epoll.hpp (inline mode: the owner thread; threaded mode: under
// the shard lock).
#pragma once

#include <cerrno>
#include <memory>

#include "api/kernel_fds.hpp"
#include "event/epoll.hpp"
#include "socket/socket.hpp"

namespace pollux::api {

class EpollFile final : public socket::Socket {
public:
    // An instance is pollable itself (nesting): its own watcher list hears of every item
    // it queues.
    EpollFile() noexcept : Socket(0, 0) {
        epoll_.set_own_watchers(&watchers());
        watchers().set_nested_epoll(&epoll_);
    }

    event::Epoll* as_epoll() noexcept override { return &epoll_; }
    event::Epoll& epoll() noexcept { return epoll_; }

    // The kernel files it watches (kernel_fds.hpp): null until the first is given.
    const std::shared_ptr<KernelFds>& kernel_fds() const noexcept { return kernel_; }
    // Creates them if needed: 0 or -errno.
    int ensure_kernel_fds() noexcept {
        int err = 0;
        if (!kernel_) kernel_ = KernelFds::create(err);
        return kernel_ ? 0 : -err;
    }
    // Which side px_epoll_wait reports first this time: the two take turns, so that a
    // busy side cannot keep the other's events out of a full `events` array for good.
    bool kernel_first() noexcept { return kernel_first_ = !kernel_first_; }

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

    // close(2) of the epoll fd: ep_free() — every item leaves its target's watcher list,
    // the threads asleep on it wake; the kernel fds go when the last of them lets go.
    void close() noexcept override {
        epoll_.clear();
        kernel_.reset();
    }

    // ep_eventpoll_poll(), for an instance that watches this one. Its kernel fds are not
    // counted: they are seen by this instance's own px_epoll_wait only.
    std::uint32_t poll_mask() const noexcept override { return epoll_.poll_mask(); }

private:
    event::Epoll epoll_;
    std::shared_ptr<KernelFds> kernel_;
    bool kernel_first_ = false;
};

}  // namespace pollux::api
