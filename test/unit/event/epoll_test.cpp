// The epoll instance's ready-list logic (src/event/epoll.hpp) against fake targets whose
// readiness the test sets: Linux's ep_insert / ep_modify / ep_poll_callback /
// ep_send_events rules, one test each.
#include <catch2/catch.hpp>

#include <sys/epoll.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <memory>
#include <vector>

#include "event/epoll.hpp"
#include "event/poll_mask.hpp"
#include "event/watch_list.hpp"

using pollux::event::Epoll;
using pollux::event::kWakeAll;
using pollux::event::kWakeReadable;
using pollux::event::kWakeWritable;
using pollux::event::WatchList;

namespace {

// A pollable object: its mask is whatever the test says.
struct Target {
    std::uint32_t mask = 0;
    WatchList watchers{this, [](const void* self) noexcept { return static_cast<const Target*>(self)->mask; }};
};

epoll_event ev(std::uint32_t events, std::uint64_t tag) {
    epoll_event e{};
    e.events = events;
    e.data.u64 = tag;
    return e;
}

struct Report {
    std::uint64_t tag;
    std::uint32_t events;
    bool operator==(const Report&) const = default;
};

std::vector<Report> collect(Epoll& ep, std::size_t max = 16) {
    std::array<epoll_event, 16> out{};
    const int n = ep.collect(std::span<epoll_event>(out.data(), max));
    std::vector<Report> r;
    for (int i = 0; i < n; ++i) r.push_back({out[static_cast<std::size_t>(i)].data.u64, out[static_cast<std::size_t>(i)].events});
    return r;
}

using Reports = std::vector<Report>;

}  // namespace

TEST_CASE("add queues a target that is already ready, and reports only the interest") {
    Epoll ep;
    Target t;
    t.mask = EPOLLIN | EPOLLRDNORM | EPOLLOUT | EPOLLWRNORM;
    REQUIRE(ep.add(7, t.watchers, ev(EPOLLIN, 1)) == 0);
    CHECK(ep.queued() == 1);
    CHECK(collect(ep) == Reports{{1, EPOLLIN}});
}

TEST_CASE("add of a target that is not ready queues nothing; a wake with a matching key does") {
    Epoll ep;
    Target t;
    REQUIRE(ep.add(7, t.watchers, ev(EPOLLIN, 1)) == 0);
    CHECK(ep.queued() == 0);
    CHECK(collect(ep).empty());
    t.mask = EPOLLOUT;
    t.watchers.wake(kWakeWritable);  // not of interest: ep_poll_callback filters it
    CHECK(ep.queued() == 0);
    t.mask = EPOLLIN | EPOLLOUT;
    t.watchers.wake(kWakeReadable);
    CHECK(ep.queued() == 1);
    CHECK(ep.wakeups() == 1);
    CHECK(collect(ep) == Reports{{1, EPOLLIN}});
}

TEST_CASE("EPOLLERR and EPOLLHUP are always reported, whatever the interest") {
    Epoll ep;
    Target t;
    REQUIRE(ep.add(7, t.watchers, ev(EPOLLIN, 1)) == 0);
    t.mask = EPOLLOUT | EPOLLERR | EPOLLHUP;
    t.watchers.wake(kWakeAll);
    CHECK(collect(ep) == Reports{{1, EPOLLERR | EPOLLHUP}});
}

TEST_CASE("level-triggered: reported at every collect while ready, dropped once not ready") {
    Epoll ep;
    Target t;
    t.mask = EPOLLIN;
    REQUIRE(ep.add(7, t.watchers, ev(EPOLLIN, 1)) == 0);
    CHECK(collect(ep) == Reports{{1, EPOLLIN}});
    CHECK(collect(ep) == Reports{{1, EPOLLIN}});
    t.mask = 0;
    CHECK(collect(ep).empty());
    CHECK(ep.queued() == 0);
    t.mask = EPOLLIN;
    CHECK(collect(ep).empty());  // no wake, no report: readiness reaches epoll by callbacks
}

TEST_CASE("edge-triggered: one report per wake, even while still ready") {
    Epoll ep;
    Target t;
    t.mask = EPOLLIN;
    REQUIRE(ep.add(7, t.watchers, ev(EPOLLIN | EPOLLET, 1)) == 0);
    CHECK(collect(ep) == Reports{{1, EPOLLIN}});
    CHECK(collect(ep).empty());
    t.watchers.wake(kWakeReadable);  // another arrival
    CHECK(collect(ep) == Reports{{1, EPOLLIN}});
    CHECK(collect(ep).empty());
}

TEST_CASE("oneshot: disarmed after one report, wakes ignored, re-armed by modify") {
    Epoll ep;
    Target t;
    t.mask = EPOLLIN;
    REQUIRE(ep.add(7, t.watchers, ev(EPOLLIN | EPOLLONESHOT, 1)) == 0);
    CHECK(collect(ep) == Reports{{1, EPOLLIN}});
    t.watchers.wake(kWakeAll);
    CHECK(ep.queued() == 0);
    CHECK(collect(ep).empty());
    REQUIRE(ep.modify(7, ev(EPOLLIN | EPOLLONESHOT, 2)) == 0);
    CHECK(collect(ep) == Reports{{2, EPOLLIN}});
    CHECK(collect(ep).empty());
}

TEST_CASE("modify changes interest and data, and queues when the new interest is ready") {
    Epoll ep;
    Target t;
    t.mask = EPOLLOUT;
    REQUIRE(ep.add(7, t.watchers, ev(EPOLLIN, 1)) == 0);
    CHECK(ep.queued() == 0);
    REQUIRE(ep.modify(7, ev(EPOLLIN | EPOLLOUT, 9)) == 0);
    CHECK(collect(ep) == Reports{{9, EPOLLOUT}});
}

TEST_CASE("maxevents: the rest stay at the front, reported level-triggered items go behind them") {
    Epoll ep;
    Target a, b, c;
    a.mask = b.mask = c.mask = EPOLLIN;
    REQUIRE(ep.add(1, a.watchers, ev(EPOLLIN, 1)) == 0);
    REQUIRE(ep.add(2, b.watchers, ev(EPOLLIN, 2)) == 0);
    REQUIRE(ep.add(3, c.watchers, ev(EPOLLIN, 3)) == 0);
    CHECK(collect(ep, 2) == Reports{{1, EPOLLIN}, {2, EPOLLIN}});
    CHECK(collect(ep, 2) == Reports{{3, EPOLLIN}, {1, EPOLLIN}});
    CHECK(collect(ep, 2) == Reports{{2, EPOLLIN}, {3, EPOLLIN}});
}

TEST_CASE("a wake of an item already queued does not queue it twice") {
    Epoll ep;
    Target t;
    t.mask = EPOLLIN;
    REQUIRE(ep.add(7, t.watchers, ev(EPOLLIN | EPOLLET, 1)) == 0);
    t.watchers.wake(kWakeReadable);
    t.watchers.wake(kWakeReadable);
    CHECK(ep.queued() == 1);
    CHECK(collect(ep) == Reports{{1, EPOLLIN}});
}

TEST_CASE("ctl errors: EEXIST, ENOENT, EINVAL for modify of an exclusive item") {
    Epoll ep;
    Target t;
    REQUIRE(ep.add(7, t.watchers, ev(EPOLLIN, 1)) == 0);
    CHECK(ep.add(7, t.watchers, ev(EPOLLIN, 1)) == -EEXIST);
    CHECK(ep.modify(8, ev(EPOLLIN, 1)) == -ENOENT);
    CHECK(ep.remove(8) == -ENOENT);
    REQUIRE(ep.remove(7) == 0);
    CHECK(ep.size() == 0);
    CHECK(t.watchers.empty());
    REQUIRE(ep.add(7, t.watchers, ev(EPOLLIN | EPOLLEXCLUSIVE, 1)) == 0);
    CHECK(ep.modify(7, ev(EPOLLIN, 1)) == -EINVAL);
}

TEST_CASE("one target in two instances is reported by both") {
    Epoll e1, e2;
    Target t;
    REQUIRE(e1.add(7, t.watchers, ev(EPOLLIN, 1)) == 0);
    REQUIRE(e2.add(7, t.watchers, ev(EPOLLIN | EPOLLET, 2)) == 0);
    CHECK(t.watchers.size() == 2);
    t.mask = EPOLLIN;
    t.watchers.wake(kWakeReadable);
    CHECK(collect(e1) == Reports{{1, EPOLLIN}});
    CHECK(collect(e2) == Reports{{2, EPOLLIN}});
}

TEST_CASE("a target that goes away leaves every instance, queued or not") {
    Epoll e1, e2;
    auto t = std::make_unique<Target>();
    t->mask = EPOLLIN;
    REQUIRE(e1.add(7, t->watchers, ev(EPOLLIN, 1)) == 0);
    REQUIRE(e2.add(7, t->watchers, ev(EPOLLOUT, 2)) == 0);
    CHECK(e1.queued() == 1);
    t.reset();
    CHECK(e1.size() == 0);
    CHECK(e1.queued() == 0);
    CHECK(e2.size() == 0);
    CHECK(collect(e1).empty());
}

TEST_CASE("an instance that goes away leaves its targets' watcher lists") {
    Target t;
    t.mask = EPOLLIN;
    {
        Epoll ep;
        REQUIRE(ep.add(7, t.watchers, ev(EPOLLIN, 1)) == 0);
        CHECK(t.watchers.size() == 1);
    }
    CHECK(t.watchers.empty());
    t.watchers.wake(kWakeAll);  // nobody left to call
}

TEST_CASE("publish: rising bits wake, falling bits and unchanged masks do not") {
    Epoll ep;
    Target t;
    REQUIRE(ep.add(7, t.watchers, ev(EPOLLIN | EPOLLET, 1)) == 0);
    t.mask = EPOLLOUT;
    t.watchers.publish(t.mask, 0);  // OUT rose: not of interest
    CHECK(ep.queued() == 0);
    t.mask = EPOLLIN | EPOLLOUT;
    t.watchers.publish(t.mask, 10);
    CHECK(collect(ep) == Reports{{1, EPOLLIN}});
    t.watchers.publish(t.mask, 4);  // partly read: not an arrival
    CHECK(ep.queued() == 0);
    t.watchers.publish(t.mask, 9);  // more data while still readable: an arrival (ET reports)
    CHECK(collect(ep) == Reports{{1, EPOLLIN}});
    t.mask = EPOLLOUT;
    t.watchers.publish(t.mask, 0);
    CHECK(ep.queued() == 0);
}

TEST_CASE("publish: a rise of RDHUP, HUP or ERR wakes every watcher (a state change)") {
    Epoll ep;
    Target t;
    t.mask = EPOLLOUT;
    t.watchers.publish(t.mask, 0);
    REQUIRE(ep.add(7, t.watchers, ev(EPOLLOUT | EPOLLET, 1)) == 0);
    CHECK(collect(ep) == Reports{{1, EPOLLOUT}});
    t.mask = EPOLLOUT | EPOLLIN | EPOLLRDHUP;
    t.watchers.publish(t.mask, 0);
    CHECK(collect(ep) == Reports{{1, EPOLLOUT}});  // Linux: sk_state_change wakes with key 0
}
