#include "runtime/api_context.hpp"

#include <chrono>

namespace pollux::runtime {

namespace {
ApiContext g_context;
void (*g_teardown)() = nullptr;
thread_local bool t_holds_lock = false;

// How many times px_run's loop or a self-polling thread yields, at most, to let the
// threads blocked on the shard lock take it (std::mutex is not fair: a thread that
// unlocks and locks again at once would keep it).
constexpr int kMaxYields = 64;
}  // namespace

void yield_to_waiting_callers() noexcept {
    for (int i = 0; i < kMaxYields && g_context.lock_wanted.load(std::memory_order_relaxed) > 0; ++i) {
        std::this_thread::yield();
    }
}

ApiContext& api_context() noexcept { return g_context; }

void attach_api(Shard& shard, bool manual_clock) noexcept {
    g_context.shard = &shard;
    g_context.owner = std::this_thread::get_id();
    g_context.in_run_callback = false;
    g_context.manual_clock = manual_clock;
    g_context.threaded.store(false, std::memory_order_relaxed);
}

void detach_api() noexcept {
    if (g_teardown != nullptr) g_teardown();
    g_context.shard = nullptr;
    g_context.owner = std::thread::id{};
    g_context.in_run_callback = false;
    g_context.manual_clock = false;
    g_context.threaded.store(false, std::memory_order_relaxed);
}

void set_api_teardown(void (*close_all)()) noexcept { g_teardown = close_all; }

bool may_call_here(const ApiContext& c) noexcept {
    return c.owner == std::this_thread::get_id() || c.threaded.load(std::memory_order_relaxed);
}

ApiLock::ApiLock() noexcept {
    ApiContext& c = g_context;
    if (!c.threaded.load(std::memory_order_relaxed) || t_holds_lock) return;
    c.lock_wanted.fetch_add(1, std::memory_order_relaxed);
    c.lock.lock();
    c.lock_wanted.fetch_sub(1, std::memory_order_relaxed);
    t_holds_lock = true;
    acquired_ = true;
}

ApiLock::~ApiLock() {
    if (!acquired_) return;
    t_holds_lock = false;
    g_context.lock.unlock();
}

bool should_sleep() noexcept {
    const ApiContext& c = g_context;
    return c.threaded.load(std::memory_order_relaxed) && c.owner != std::this_thread::get_id();
}

SleepResult sleep_on(event::WaitQueue& queue, time::Instant deadline, event::KernelBlocker* blocker) noexcept {
    ApiContext& c = g_context;
    const std::uint64_t epoch = c.stop_epoch;
    event::Waiter w;
    w.blocker = blocker;
    queue.add(w);
    c.sleepers.push_back(w);
    const time::Instant now = c.shard->clock().now();
    const auto timeout = deadline == time::Instant::max() ? std::chrono::nanoseconds::max()
                         : deadline > now                  ? std::chrono::nanoseconds((deadline - now).ns())
                                                           : std::chrono::nanoseconds::zero();
    if (blocker != nullptr) {
        // The lock is held by this thread (ApiLock): dropped while it blocks in the kernel.
        c.lock.unlock();
        blocker->block(timeout);
        c.lock.lock();
        blocker->clear_wakeups();
    } else {
        // The condition variable drops the lock while the thread sleeps and takes it back
        // before returning.
        std::unique_lock<std::mutex> held(c.lock, std::adopt_lock);
        if (timeout == std::chrono::nanoseconds::max()) {
            w.wakeup.wait(held, [&] { return w.woken; });
        } else if (timeout > std::chrono::nanoseconds::zero()) {
            w.wakeup.wait_for(held, timeout, [&] { return w.woken; });
        }
        held.release();
    }
    c.sleepers.erase(c.sleepers.iterator_to(w));
    if (w.gone) return SleepResult::gone;  // the queue is gone with its object: not touched
    queue.remove(w);
    if (c.stop_epoch != epoch) return SleepResult::stopped;
    return w.woken || blocker != nullptr ? SleepResult::woken : SleepResult::timed_out;
}

void poll_here(Shard& shard) noexcept {
    shard.poll_once();
    ApiContext& c = g_context;
    if (!c.threaded.load(std::memory_order_relaxed) || c.lock_wanted.load(std::memory_order_relaxed) == 0) return;
    c.lock.unlock();
    yield_to_waiting_callers();
    c.lock.lock();
}

void wake_sleepers_for_stop() noexcept {
    ApiContext& c = g_context;
    ++c.stop_epoch;
    for (event::Waiter& w : c.sleepers) w.wake();
}

}  // namespace pollux::runtime
