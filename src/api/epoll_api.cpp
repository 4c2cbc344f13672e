// The C epoll API (include/pollux/epoll.h): Linux's checks in Linux's order
// (fs/eventpoll.c do_epoll_create, do_epoll_ctl, do_epoll_wait), the fd lookups, and the
// inline-mode wait, which keeps the shard polling as a blocking socket call does.
#include "pollux/epoll.h"

#include <fcntl.h>

#include <algorithm>
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
    if (!runtime::may_call_here(c)) return -EOPNOTSUPP;
    std::unique_ptr<socket::Socket> file(new (std::nothrow) EpollFile);
    if (!file) return -ENOMEM;
    if ((flags & EPOLL_CLOEXEC) != 0) file->set_cloexec(true);
    return install(file);
}

// The target of a ctl that is not a kernel fd: a pollux socket, or EBADF.
socket::Socket* target_of(int fd, int& err) noexcept { return lookup(fd, err); }

// A kernel fd given to a pollux epoll instance goes to its kernel side (kernel_fds.hpp),
// which answers with Linux's own checks. Given to a pollux fd that is not an epoll
// instance it is EINVAL, after the fd's own EBADF as Linux orders them.
long kernel_ctl(socket::Socket& file, int op, int fd, epoll_event* event) noexcept {
    auto* epoll_file = dynamic_cast<EpollFile*>(&file);
    if (epoll_file == nullptr) return ::fcntl(fd, F_GETFD) == -1 ? -EBADF : -EINVAL;
    if (const int e = epoll_file->ensure_kernel_fds(); e != 0) return e;
    return epoll_file->kernel_fds()->ctl(op, fd, event);
}

long ctl(int epfd, int op, int fd, const epoll_event* event) noexcept {
    const bool has_event = op != EPOLL_CTL_DEL;  // ep_op_has_event()
    if (has_event && event == nullptr) return -EFAULT;
    epoll_event ev{};
    if (has_event) ev = *event;
    int err = 0;
    socket::Socket* file = lookup(epfd, err);
    if (file == nullptr) return -err;
    if (!socket::is_pollux_fd(fd)) return kernel_ctl(*file, op, fd, has_event ? &ev : nullptr);
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
    // An instance in an instance: ep_loop_check() before the item is looked up.
    if (event::Epoll* nested = target->as_epoll(); nested != nullptr && op == EPOLL_CTL_ADD) {
        if (const int e = ep->check_nesting(*nested); e != 0) return e;
    }
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

// What both sides report, in turns (EpollFile::kernel_first): a count, at most out.size().
int collect(EpollFile& file, KernelFds* kernel, std::span<epoll_event> out) noexcept {
    event::Epoll& ep = file.epoll();
    if (kernel == nullptr) return ep.collect(out);
    const bool kernel_first = file.kernel_first();
    std::size_t n = 0;
    if (kernel_first) n += static_cast<std::size_t>(std::max(0, kernel->collect(out)));
    if (n < out.size() && ep.has_queued()) n += static_cast<std::size_t>(ep.collect(out.subspan(n)));
    if (!kernel_first && n < out.size()) n += static_cast<std::size_t>(std::max(0, kernel->collect(out.subspan(n))));
    return static_cast<int>(n);
}

// ep_poll(): report what is queued; otherwise wait until something is reported, the
// timeout passes (0) or px_stop() is called (EINTR).
// - On the shard's thread (inline mode, or px_run's callback) the wait keeps the shard
//   polling, which runs the protocols and so the callbacks. Outside px_run's callback
//   nothing else polls the shard, so the call first gives it one round, as the kernel
//   would have processed what arrived (a FIN, an ACK that opened the window) before
//   epoll_wait looks; inside the callback the loop has just polled. Kernel fds are asked
//   every kKernelCheck of that polling. A harness's manual clock means nothing can arrive
//   while we wait, so every timeout acts as zero there and the harness program polls.
// - On another thread (threaded mode) px_run's loop polls; the caller sleeps on the
//   instance's wait queue, woken by the callbacks — in the kernel when the instance also
//   watches kernel fds — and gets EBADF if the epoll fd is closed meanwhile.
constexpr time::Duration kKernelCheck = time::Duration::from_us(10);

long wait(EpollFile& file, std::span<epoll_event> out, int timeout) noexcept {
    runtime::ApiContext& c = runtime::api_context();
    runtime::Shard& shard = *c.shard;
    event::Epoll& ep = file.epoll();
    // Held for the whole call: closing the instance meanwhile cannot close them under us.
    const std::shared_ptr<KernelFds> kernel_fds = file.kernel_fds();
    KernelFds* kernel = kernel_fds && kernel_fds->watching() ? kernel_fds.get() : nullptr;
    const bool sleeps = runtime::should_sleep();
    if (!sleeps && !c.manual_clock && !c.in_run_callback) shard.poll_once();
    int n = collect(file, kernel, out);
    if (n == 0 && timeout == 0 && !sleeps && !c.manual_clock && c.in_run_callback) {
        // A zero-timeout wait that finds nothing inside px_run's callback: the loop polled
        // before the callback, but a callback that never returns (an application's own
        // loop, examples/common/app_net.h) depends on its waits to keep the stack polling.
        shard.poll_once();
        n = collect(file, kernel, out);
    }
    if (n > 0 || timeout == 0 || c.manual_clock) return n;
    const time::Instant deadline =
        timeout < 0 ? time::Instant::max() : shard.clock().now() + time::Duration::from_ms(timeout);
    time::Instant next_kernel_check = shard.clock().now() + kKernelCheck;
    while (true) {
        if (runtime::stop_requested()) return -EINTR;
        const time::Instant now = shard.clock().now();
        if (now >= deadline) return 0;
        bool look = false;
        if (sleeps) {
            const runtime::SleepResult slept = runtime::sleep_on(ep.sleepers(), deadline, kernel);
            if (slept == runtime::SleepResult::gone) return -EBADF;  // `file` is freed: not touched
            if (slept == runtime::SleepResult::stopped) return -EINTR;
            look = true;
        } else {
            runtime::poll_here(shard);
            look = ep.has_queued();
            if (kernel != nullptr && now >= next_kernel_check) {
                look = true;
                next_kernel_check = now + kKernelCheck;
            }
        }
        if (look) {
            n = collect(file, kernel, out);
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
    auto* epoll_file = dynamic_cast<EpollFile*>(file);
    if (epoll_file == nullptr) return -EINVAL;
    return wait(*epoll_file, {events, static_cast<std::size_t>(maxevents)}, timeout);
}

}  // namespace
}  // namespace pollux::api

using pollux::api::result;

extern "C" int px_epoll_create1(int flags) {
    pollux::runtime::ApiLock lock;
    return static_cast<int>(result(pollux::api::create(flags)));
}

extern "C" int px_epoll_create(int size) {
    if (size <= 0) return static_cast<int>(result(-EINVAL));
    return px_epoll_create1(0);
}

extern "C" int px_epoll_ctl(int epfd, int op, int fd, struct epoll_event* event) {
    pollux::runtime::ApiLock lock;
    return static_cast<int>(result(pollux::api::ctl(epfd, op, fd, event)));
}

extern "C" int px_epoll_wait(int epfd, struct epoll_event* events, int maxevents, int timeout) {
    pollux::runtime::ApiLock lock;
    return static_cast<int>(result(pollux::api::wait_call(epfd, events, maxevents, timeout)));
}
