// ApiContext: what the C socket API (src/api) needs from the runtime — the shard its
// sockets live on, which threads may call it, and whether a blocking call should give up.
//
// px_init attaches the runtime's shard and makes the calling thread the owner; px_fini
// detaches it. A test or a harness may attach any Shard it drives itself (a SimLink and a
// ManualClock), which is how the socket API is exercised deterministically.
//
// Contract — two modes:
// - Inline mode (the default): attach/detach and every API call happen on the owner
//   thread, which is also the one that polls (px_run, or a blocking call polling while it
//   waits). Nothing is locked.
// - Threaded mode (px_enable_threads, include/pollux/pollux.h): any thread may call any
//   px_* function while the owner thread polls in px_run. `lock`, the shard lock, guards
//   the shard, every socket, the fd table and every epoll instance:
//     * px_run's thread holds it for each poll round, px_run's callback included, and
//       lets application threads that wait for it in between rounds (`lock_wanted`);
//     * an application thread holds it for a whole px_* call (ApiLock below) and drops it
//       only while asleep in a blocking call (sleep_on), re-taking it before it looks at
//       anything again;
//     * `stop_epoch` and `sleepers` are written under it.
//   It is the only lock (the telemetry mutex of runtime.cpp is never held with it), so
//   there is no lock order. `threaded` is set on the owner thread before px_run and never
//   cleared while the runtime lives.
// - What the inline path pays for the threaded one: one relaxed atomic load per API call
//   and per poll round.
// stop_requested() may be read anywhere.
#pragma once

#include <atomic>
#include <boost/intrusive/list.hpp>
#include <cstdint>
#include <mutex>
#include <thread>

#include "event/wait_queue.hpp"
#include "runtime/shard.hpp"
#include "time/instant.hpp"

namespace pollux::runtime {

struct ApiContext {
    Shard* shard = nullptr;
    std::thread::id owner;
    // True while px_run's function runs: the loop flushes transmit right after it, so a
    // send need not flush on its own.
    bool in_run_callback = false;
    // The shard runs on a clock that moves only when its program says (a harness,
    // include/pollux/harness.h): nothing can arrive or expire while a call waits, so a
    // blocking call returns as a non-blocking one would instead of spinning forever.
    bool manual_clock = false;

    // ---- threaded mode (see the contract above) ----
    std::atomic<bool> threaded{false};
    std::mutex lock;
    std::atomic<int> lock_wanted{0};  // application threads blocked in ApiLock
    std::uint64_t stop_epoch = 0;     // threaded loops ended: a sleeper that sees it move returns EINTR
    boost::intrusive::list<event::Waiter, boost::intrusive::member_hook<event::Waiter, boost::intrusive::list_member_hook<>,
                                                                        &event::Waiter::all_hook>>
        sleepers;
};

ApiContext& api_context() noexcept;

// Makes `shard` the one the API works on, owned by the calling thread (inline mode).
void attach_api(Shard& shard, bool manual_clock = false) noexcept;
// Closes every socket (through the hook the API registered) and forgets the shard.
void detach_api() noexcept;
// The API's "close every socket" function, run by detach_api().
void set_api_teardown(void (*close_all)()) noexcept;

// px_stop() was called (or SIGINT/SIGTERM arrived): blocking calls return EINTR.
bool stop_requested() noexcept;

// ---- threaded mode ----

// Whether this thread may make an API call now: the owner's thread, or any thread in
// threaded mode.
bool may_call_here(const ApiContext& c) noexcept;

// Held for the length of a px_* call: takes the shard lock in threaded mode unless this
// thread holds it already (px_run's callback, a call made inside another call).
class ApiLock {
public:
    ApiLock() noexcept;
    ~ApiLock();
    ApiLock(const ApiLock&) = delete;
    ApiLock& operator=(const ApiLock&) = delete;

private:
    bool acquired_ = false;
};

// Whether a blocking call on this thread should sleep rather than poll: threaded mode and
// not the owner's thread. The owner polls — in px_run, or in a blocking call of its own —
// and its polling runs the callbacks that wake the sleepers; a thread that blocks before
// px_run starts sleeps until it does (polling there too would race the owner for the
// lock and, unlike a sleeper, could not be woken exclusively).
bool should_sleep() noexcept;

enum class SleepResult { woken, timed_out, stopped, gone };
// Sleeps on `queue` (the lock held by this thread is dropped meanwhile) until a wake-up,
// the shard-clock `deadline`, the end of px_run's loop (px_stop: `stopped`), or the
// queue's object being closed (`gone`: the caller must not touch it again).
// With a `blocker` the thread sleeps in the kernel instead (an epoll instance that also
// watches kernel files): then `woken` also covers a kernel file becoming ready.
SleepResult sleep_on(event::WaitQueue& queue, time::Instant deadline, event::KernelBlocker* blocker = nullptr) noexcept;

// Threaded mode, a thread polling for itself because no loop runs: one round, then lets
// the threads waiting for the lock in.
void poll_here(Shard& shard) noexcept;

// Between two poll rounds that hold the lock: lets the threads blocked on it take it.
void yield_to_waiting_callers() noexcept;

// px_run's threaded loop ended: every sleeper wakes and returns EINTR.
void wake_sleepers_for_stop() noexcept;

}  // namespace pollux::runtime
