#include "api/kernel_fds.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <new>

namespace pollux::api {

std::shared_ptr<KernelFds> KernelFds::create(int& err) noexcept {
    std::shared_ptr<KernelFds> k(new (std::nothrow) KernelFds);
    if (!k) {
        err = ENOMEM;
        return nullptr;
    }
    k->watched_ = ::epoll_create1(EPOLL_CLOEXEC);
    k->sleep_ = ::epoll_create1(EPOLL_CLOEXEC);
    k->wakeup_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (k->watched_ < 0 || k->sleep_ < 0 || k->wakeup_ < 0) {
        err = errno;
        return nullptr;
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    if (::epoll_ctl(k->sleep_, EPOLL_CTL_ADD, k->watched_, &ev) != 0 ||
        ::epoll_ctl(k->sleep_, EPOLL_CTL_ADD, k->wakeup_, &ev) != 0) {
        err = errno;
        return nullptr;
    }
    return k;
}

KernelFds::~KernelFds() {
    for (int fd : {watched_, sleep_, wakeup_}) {
        if (fd >= 0) ::close(fd);
    }
}

int KernelFds::ctl(int op, int fd, epoll_event* event) noexcept {
    if (::epoll_ctl(watched_, op, fd, event) != 0) return -errno;
    if (op == EPOLL_CTL_ADD) ++added_;
    return 0;
}

int KernelFds::collect(std::span<epoll_event> out) noexcept {
    if (out.empty()) return 0;
    const int max = out.size() > INT_MAX ? INT_MAX : static_cast<int>(out.size());
    const int n = ::epoll_wait(watched_, out.data(), max, 0);
    return n < 0 ? -errno : n;
}

void KernelFds::block(std::chrono::nanoseconds timeout) noexcept {
    // epoll_wait's resolution is a millisecond: round up, so a deadline is never early.
    int ms = -1;
    if (timeout != std::chrono::nanoseconds::max()) {
        const auto rounded = (timeout.count() + 999'999) / 1'000'000;
        ms = rounded > INT_MAX ? INT_MAX : static_cast<int>(rounded);
    }
    epoll_event ev{};
    (void)::epoll_wait(sleep_, &ev, 1, ms);  // EINTR (a signal) is a spurious wake-up
}

void KernelFds::wake() noexcept { (void)::eventfd_write(wakeup_, 1); }

void KernelFds::clear_wakeups() noexcept {
    eventfd_t ignored;
    (void)::eventfd_read(wakeup_, &ignored);
}

}  // namespace pollux::api
