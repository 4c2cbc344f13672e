// The C epoll API (include/pollux/epoll.h): Linux's checks in Linux's order
// (fs/eventpoll.c do_epoll_create, do_epoll_ctl, do_epoll_wait), the fd lookups, and the
// inline-mode wait, which keeps the shard polling as a blocking socket call does.
#include "pollux/epoll.h"

#include <fcntl.h>

#include <cerrno>
#include <climits>
#include <memory>
#include <new>
#include <span>

#include "api/epoll_file.hpp"
#include "api/sockets.hpp"

namespace pollux::api {
namespace {

// EP_MAX_EVENTS: the most events one call may ask for.
constexpr int kMaxEvents = static_cast<int>(INT_MAX / sizeof(epoll_event));
// EPOLLEXCLUSIVE_OK_BITS: what an exclusive registration may also ask for.
constexpr std::uint32_t kExclusiveOkBits = EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLWAKEUP | EPOLLET | EPOLLEXCLUSIVE;

long create(int flags) noexcept {
    if ((flags & ~EPOLL_CLOEXEC) != 0) return -EINVAL;
    runtime::ApiContext& c = runtime::api_context();
    if (c.shard == nullptr) return -ENETDOWN;
    if (c.owner != std::this_thread::get_id()) return -EOPNOTSUPP;
    std::unique_ptr<socket::Socket> file(new (std::nothrow) EpollFile);
    if (!file) return -ENOMEM;
    if ((flags & EPOLL_CLOEXEC) != 0) file->set_cloexec(true);
    return install(file);
}

// The target of a ctl: a pollux socket, or the errno Linux's fdget()/file_can_poll() give.
// A kernel fd is EBADF when it is not open and EPERM otherwise: pollux cannot watch kernel
// files yet (issue 7: a later increment registers them with an internal kernel epoll).
socket::Socket* target_of(int fd, int& err) noexcept {
    if (!socket::is_pollux_fd(fd)) {
        err = ::fcntl(fd, F_GETFD) == -1 ? EBADF : EPERM;
        return nullptr;
    }
    return lookup(fd, err);
}

long ctl(int epfd, int op, int fd, const epoll_event* event) noexcept {
    const bool has_event = op != EPOLL_CTL_DEL;  // ep_op_has_event()
    if (has_event && event == nullptr) return -EFAULT;
    epoll_event ev{};
    if (has_event) ev = *event;
    int err = 0;
    socket::Socket* file = lookup(epfd, err);
    if (file == nullptr) return -err;
    socket::Socket* target = target_of(fd, err);
    if (target == nullptr) return -err;
    event::Epoll* ep = file->as_epoll();
    if (target == file || ep == nullptr) return -EINVAL;
    if (has_event && (ev.events & EPOLLEXCLUSIVE) != 0) {
        if (op == EPOLL_CTL_MOD) return -EINVAL;
        if (op == EPOLL_CTL_ADD && (target->as_epoll() != nullptr || (ev.events & ~kExclusiveOkBits) != 0)) {
            return -EINVAL;
        }
    }
    // Nesting needs an instance to be pollable (ep_eventpoll_poll) and the loop checks;
    // not in this increment.
    if (target->as_epoll() != nullptr) return -EPERM;
    switch (op) {
        case EPOLL_CTL_ADD:
            return ep->add(fd, target->watchers(), ev);
        case EPOLL_CTL_DEL:
            return ep->remove(fd);
        case EPOLL_CTL_MOD:
            return ep->modify(fd, ev);
        default:
            return -EINVAL;
    }
}

// ep_poll() in inline mode: report what is queued; otherwise poll the shard, which runs
// the protocols and so the callbacks, until something is reported, the timeout passes
// (0) or px_stop() is called (EINTR). Outside px_run's callback nothing else polls the
// shard, so the call first gives it one round, as the kernel would have processed what
// arrived (a FIN, an ACK that opened the window) before epoll_wait looks; inside the
// callback the loop has just polled. A harness's manual clock means nothing can arrive
// while we wait, so every timeout acts as zero there and the harness program polls.
long wait(event::Epoll& ep, std::span<epoll_event> out, int timeout) noexcept {
    runtime::ApiContext& c = runtime::api_context();
    runtime::Shard& shard = *c.shard;
    if (!c.manual_clock && !c.in_run_callback) shard.poll_once();
    int n = ep.collect(out);
    if (n > 0 || timeout == 0 || c.manual_clock) return n;
    const time::Instant deadline =
        timeout < 0 ? time::Instant::max() : shard.clock().now() + time::Duration::from_ms(timeout);
    while (true) {
        if (runtime::stop_requested()) return -EINTR;
        if (shard.clock().now() >= deadline) return 0;
        shard.poll_once();
        if (ep.has_queued()) {
            n = ep.collect(out);
            if (n > 0) return n;
        }
    }
}

long wait_call(int epfd, epoll_event* events, int maxevents, int timeout) noexcept {
    if (maxevents <= 0 || maxevents > kMaxEvents) return -EINVAL;
    if (events == nullptr) return -EFAULT;
    int err = 0;
    socket::Socket* file = lookup(epfd, err);
    if (file == nullptr) return -err;
    event::Epoll* ep = file->as_epoll();
    if (ep == nullptr) return -EINVAL;
    return wait(*ep, {events, static_cast<std::size_t>(maxevents)}, timeout);
}

}  // namespace
}  // namespace pollux::api

using pollux::api::result;

extern "C" int px_epoll_create1(int flags) { return static_cast<int>(result(pollux::api::create(flags))); }

extern "C" int px_epoll_create(int size) {
    if (size <= 0) return static_cast<int>(result(-EINVAL));
    return px_epoll_create1(0);
}

extern "C" int px_epoll_ctl(int epfd, int op, int fd, struct epoll_event* event) {
    return static_cast<int>(result(pollux::api::ctl(epfd, op, fd, event)));
}

extern "C" int px_epoll_wait(int epfd, struct epoll_event* events, int maxevents, int timeout) {
    return static_cast<int>(result(pollux::api::wait_call(epfd, events, maxevents, timeout)));
}
