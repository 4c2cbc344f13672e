// KernelFds: the kernel files (eventfd, timerfd, signalfd, pipes, kernel sockets, ...) one
// pollux epoll instance watches, so that a program waits on both kinds in one
// px_epoll_wait.
//
// The kernel does the watching: the files are registered with an internal kernel epoll
// instance (`watched_`), so EPOLL_CTL_ADD/MOD/DEL, the events, EPOLLET, EPOLLONESHOT and
// EPOLLEXCLUSIVE, the errors and the clean-up when a file is closed are Linux's own.
// px_epoll_wait takes their events with a zero-timeout epoll_wait.
//
// Sleeping (threaded mode, event::KernelBlocker): a thread with nothing to report blocks
// in epoll_wait on a second kernel instance (`sleep_`) that watches `watched_` and an
// eventfd; the stack's wake-ups for the pollux side write the eventfd. Two instances
// rather than one keep the eventfd's events out of what the program is told, whatever
// epoll_data it chose.
//
// Created at the first kernel fd an instance is given; shared (std::shared_ptr) between
// the instance and the threads asleep on it, so that closing the instance while a thread
// is blocked in the kernel cannot close the fds under it.
//
// Contract: ctl/collect/wake/clear_wakeups under the shard lock in threaded mode (the
// owner thread in inline mode); block() without it. The kernel serialises the rest.
#pragma once

#include <sys/epoll.h>

#include <memory>
#include <span>

#include "event/wait_queue.hpp"

namespace pollux::api {

class KernelFds final : public event::KernelBlocker {
public:
    // The three kernel objects, or null with `err` (EMFILE, ENFILE, ENOMEM).
    static std::shared_ptr<KernelFds> create(int& err) noexcept;
    ~KernelFds();
    KernelFds(const KernelFds&) = delete;
    KernelFds& operator=(const KernelFds&) = delete;

    // epoll_ctl on the internal instance: 0 or -errno, as Linux answers for `fd`.
    int ctl(int op, int fd, epoll_event* event) noexcept;
    // What the kernel files report now (a zero-timeout epoll_wait): a count or -errno.
    int collect(std::span<epoll_event> out) noexcept;
    // Whether any kernel fd was ever added (a closed file leaves by itself: the count
    // only says whether collect() is worth a system call).
    bool watching() const noexcept { return added_ > 0; }

    void block(std::chrono::nanoseconds timeout) noexcept override;
    void wake() noexcept override;
    void clear_wakeups() noexcept override;

private:
    KernelFds() = default;

    int watched_ = -1;  // the program's kernel files
    int sleep_ = -1;    // watched_ and wakeup_: what a sleeping thread blocks on
    int wakeup_ = -1;   // eventfd written by wake()
    long added_ = 0;
};

}  // namespace pollux::api
