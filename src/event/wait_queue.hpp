// WaitQueue and Waiter: application threads asleep in a blocking call (threaded mode),
// Linux's wait_queue_head and wait_queue_entry.
//
// A Waiter lives on the sleeping thread's stack. While the thread sleeps it is linked into
// the queue of what it waits for — a socket's WatchList (recv, send, accept, connect) or
// an epoll instance (epoll_wait) — and into the API's list of every sleeper (so that
// px_stop() can wake them all). A wake-up sets `woken` and signals the thread's condition
// variable; the thread then re-checks its condition, as Linux's woken threads re-run
// their loop: a wake-up is a hint, never a result.
//
// When the object goes away (its fd is closed) its queue wakes every waiter with `gone`
// set: the waiter must not touch the object again (Linux would keep the file alive until
// the call returns; pollux ends the call with EBADF instead, see sockets.hpp).
//
// Contract: every member is guarded by the shard lock (runtime/api_context.hpp). The
// queues cost one emptiness test on the inline path, where nobody sleeps.
#pragma once

#include <boost/intrusive/list.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>

namespace pollux::event {

// How a thread sleeps when kernel files can wake it too (an epoll instance that watches
// eventfds, timerfds, pipes or kernel sockets, src/api/kernel_fds.hpp): it blocks in the
// kernel, and a wake-up from the stack must reach it there.
class KernelBlocker {
public:
    // Blocks until a watched kernel file is ready, wake() is called, or `timeout` passes
    // (nanoseconds::max(): no timeout). Called without the shard lock.
    virtual void block(std::chrono::nanoseconds timeout) noexcept = 0;
    // Makes a block() in any thread return. Called under the shard lock.
    virtual void wake() noexcept = 0;
    // Takes back the wake-ups that block() returned for. Called under the shard lock.
    virtual void clear_wakeups() noexcept = 0;

protected:
    ~KernelBlocker() = default;
};

// Wake-ups handed to sleeping threads so far, process-wide (guarded by the shard lock):
// px_run's threaded loop yields its CPU after a round that woke someone, so that a woken
// thread sharing the polling core runs at once instead of after the poller's time slice.
inline std::uint64_t g_wakeups_issued = 0;

struct Waiter {
    boost::intrusive::list_member_hook<> queue_hook;  // the queue of what it waits for
    boost::intrusive::list_member_hook<> all_hook;    // the API's list of every sleeper
    std::condition_variable wakeup;
    bool woken = false;
    bool gone = false;  // the object waited on was closed
    KernelBlocker* blocker = nullptr;  // set: the thread sleeps in the kernel, not on `wakeup`

    void wake() noexcept {
        woken = true;
        ++g_wakeups_issued;
        if (blocker != nullptr) {
            blocker->wake();
        } else {
            wakeup.notify_one();
        }
    }
};

class WaitQueue {
public:
    WaitQueue() = default;
    ~WaitQueue() { wake_all_gone(); }
    WaitQueue(const WaitQueue&) = delete;
    WaitQueue& operator=(const WaitQueue&) = delete;

    bool empty() const noexcept { return waiters_.empty(); }
    void add(Waiter& w) noexcept { waiters_.push_back(w); }
    void remove(Waiter& w) noexcept {
        if (w.queue_hook.is_linked()) waiters_.erase(waiters_.iterator_to(w));
    }
    // __wake_up(): every waiter (recv, send and accept each re-check their own condition).
    void wake_all() noexcept {
        for (Waiter& w : waiters_) w.wake();
    }
    // __wake_up() on a queue of exclusive waiters (ep_poll adds itself exclusively): the
    // first waiter not already woken, so one event does not wake a herd of threads. True
    // when there was one (Linux removes a woken entry from the queue at once).
    bool wake_one() noexcept {
        for (Waiter& w : waiters_) {
            if (!w.woken) {
                w.wake();
                return true;
            }
        }
        return false;
    }
    // The object is going away: every waiter leaves, told so.
    void wake_all_gone() noexcept {
        while (!waiters_.empty()) {
            Waiter& w = waiters_.front();
            waiters_.pop_front();
            w.gone = true;
            w.wake();
        }
    }

private:
    using List = boost::intrusive::list<
        Waiter, boost::intrusive::member_hook<Waiter, boost::intrusive::list_member_hook<>, &Waiter::queue_hook>>;
    List waiters_;
};

}  // namespace pollux::event
