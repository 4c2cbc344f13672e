// Threaded mode's wake-ups (src/event/wait_queue.hpp, Epoll's sleepers, WatchList::wake):
// who is woken, and what EPOLLEXCLUSIVE delivers — Linux's __wake_up_common and
// ep_poll_callback rules, checked without threads (a Waiter's `woken` is what a sleeping
// thread would see).
#include <catch2/catch.hpp>

#include <sys/epoll.h>

#include <array>
#include <cstdint>

#include "event/epoll.hpp"
#include "event/poll_mask.hpp"
#include "event/wait_queue.hpp"
#include "event/watch_list.hpp"

using pollux::event::Epoll;
using pollux::event::kWakeAll;
using pollux::event::Waiter;
using pollux::event::WaitQueue;
using pollux::event::WatchList;

namespace {

struct Target {
    std::uint32_t mask = 0;
    WatchList watchers{this, [](const void* self) noexcept { return static_cast<const Target*>(self)->mask; }};
};

epoll_event interest(std::uint32_t events) {
    epoll_event e{};
    e.events = events;
    return e;
}

}  // namespace

TEST_CASE("wake_one wakes the first waiter not woken yet, and says when there was none") {
    WaitQueue q;
    Waiter a, b;
    q.add(a);
    q.add(b);
    CHECK(q.wake_one());
    CHECK(a.woken);
    CHECK_FALSE(b.woken);
    CHECK(q.wake_one());
    CHECK(b.woken);
    CHECK_FALSE(q.wake_one());
    q.remove(a);
    q.remove(b);
    CHECK(q.empty());
}

TEST_CASE("a queue whose object goes away tells every waiter, and forgets them") {
    Waiter a, b;
    {
        WaitQueue q;
        q.add(a);
        q.add(b);
        q.wake_all_gone();
        CHECK(q.empty());
    }
    CHECK((a.woken && a.gone && b.woken && b.gone));
    CHECK_FALSE(a.queue_hook.is_linked());
}

TEST_CASE("a socket's sleepers wake on every change, and learn when its fd is closed") {
    Target t;
    Waiter w;
    t.watchers.sleepers().add(w);
    // A publish that raises nothing (the snapshot did not move) still wakes a sleeper: it
    // re-checks its own condition.
    t.watchers.publish(0, 0);
    CHECK(w.woken);
    CHECK_FALSE(w.gone);
    w.woken = false;
    t.watchers.wake(EPOLLIN);
    CHECK(w.woken);
    w.woken = false;
    t.watchers.detach_all();
    CHECK((w.woken && w.gone));
    CHECK(t.watchers.sleepers().empty());
}

TEST_CASE("a readiness change wakes one thread asleep in epoll_wait per instance") {
    Target t;
    Epoll ep;
    REQUIRE(ep.add(5, t.watchers, interest(EPOLLIN)) == 0);
    Waiter first, second;
    ep.sleepers().add(first);
    ep.sleepers().add(second);
    t.mask = EPOLLIN;
    t.watchers.wake(EPOLLIN);
    CHECK(first.woken);
    CHECK_FALSE(second.woken);  // ep_poll waits exclusively: one event, one thread
    CHECK(ep.queued() == 1);
    ep.sleepers().remove(first);
    ep.sleepers().remove(second);
}

TEST_CASE("EPOLLEXCLUSIVE: the first instance with a sleeper takes the event, the others are not queued") {
    Target listener;
    std::array<Epoll, 3> eps;
    for (Epoll& ep : eps) REQUIRE(ep.add(3, listener.watchers, interest(EPOLLIN | EPOLLEXCLUSIVE)) == 0);
    Epoll plain;  // a non-exclusive watcher is always woken (it sits before them in Linux's queue)
    REQUIRE(plain.add(3, listener.watchers, interest(EPOLLIN)) == 0);
    // The first instance has nobody asleep: its item is queued but does not count as
    // delivered (ewake 0), so the second, which has a sleeper, takes it; the third is skipped.
    Waiter asleep_in_second, asleep_in_third;
    eps[1].sleepers().add(asleep_in_second);
    eps[2].sleepers().add(asleep_in_third);
    listener.mask = EPOLLIN;
    listener.watchers.wake(EPOLLIN);
    CHECK(eps[0].queued() == 1);
    CHECK(eps[1].queued() == 1);
    CHECK(asleep_in_second.woken);
    CHECK(eps[2].queued() == 0);
    CHECK_FALSE(asleep_in_third.woken);
    CHECK(plain.queued() == 1);
    eps[1].sleepers().remove(asleep_in_second);
    eps[2].sleepers().remove(asleep_in_third);
}

TEST_CASE("EPOLLEXCLUSIVE with nobody asleep queues every instance, as in inline mode") {
    Target listener;
    std::array<Epoll, 3> eps;
    for (Epoll& ep : eps) REQUIRE(ep.add(3, listener.watchers, interest(EPOLLIN | EPOLLEXCLUSIVE)) == 0);
    listener.mask = EPOLLIN;
    listener.watchers.wake(kWakeAll);
    for (Epoll& ep : eps) CHECK(ep.queued() == 1);
}

TEST_CASE("EPOLLEXCLUSIVE delivers only for an event it asked for") {
    Target t;
    std::array<Epoll, 2> eps;
    for (Epoll& ep : eps) REQUIRE(ep.add(4, t.watchers, interest(EPOLLIN | EPOLLOUT | EPOLLEXCLUSIVE)) == 0);
    Waiter a, b;
    eps[0].sleepers().add(a);
    eps[1].sleepers().add(b);
    // EPOLLIN and EPOLLOUT at once: Linux's switch has no case for both, so the wake does
    // not count as delivered and the next exclusive instance is woken too.
    t.mask = EPOLLIN | EPOLLOUT;
    t.watchers.wake(EPOLLIN | EPOLLOUT);
    CHECK((a.woken && b.woken));
    eps[0].sleepers().remove(a);
    eps[1].sleepers().remove(b);
}

TEST_CASE("closing an epoll instance wakes its sleepers, told it is gone") {
    Waiter w;
    {
        Epoll ep;
        ep.sleepers().add(w);
        ep.clear();
        CHECK((w.woken && w.gone));
    }
    CHECK_FALSE(w.queue_hook.is_linked());
}
