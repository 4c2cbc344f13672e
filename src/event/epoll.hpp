// Epoll: one epoll instance (Linux fs/eventpoll.c struct eventpoll): a tree of items
// keyed by fd, a ready list, and the waiters' wake-up mark.
//
// How readiness reaches a caller (Linux's model, rebuilt):
//   protocol state changes -> Socket::readiness_event / publish_readiness
//     -> WatchList::wake(key) -> Epoll::callback(item, key)   (ep_poll_callback)
//        links the item at the ready list's tail unless it is linked, marks a wake-up
//   px_epoll_wait -> Epoll::collect()                         (ep_send_events)
//        re-polls each queued item, reports poll & interest, and then:
//        EPOLLONESHOT disarms it (until EPOLL_CTL_MOD), EPOLLET drops it from the list
//        (the next wake queues it again), level-triggered puts it back at the tail, so
//        it is re-checked at the next wait and reported while it stays ready.
//   Items left unreported because `maxevents` was reached stay at the front.
//
// Contract (what fs/eventpoll.c's locks do, for pollux's two modes)
// - Inline mode: everything here — ctl, collect, the callbacks from the protocols,
//   destruction — runs on the shard's thread (the thread that called px_init, or px_run's
//   callback). Nothing is locked; `wakeups_` is a plain counter the waiting loop reads.
// - Threaded mode (px_enable_threads): the same structures, all guarded by one lock, the
//   shard lock of runtime/api_context.hpp. The shard's thread holds it for a whole poll
//   round (so every callback runs under it); an application thread holds it for a whole
//   px_* call and drops it only while asleep on `sleepers_` (Linux ep->wq; a callback
//   that queues an item wakes one sleeper, ep_poll's exclusive wait). Linux needs ep->mtx,
//   ep->lock and the wait-queue locks because callbacks run on every CPU at once; here
//   one thread runs all of a shard's callbacks, so a single lock serialises nothing that
//   could have run in parallel except ctl against collect, both a few hundred ns.
//   Lock order: there is one lock, so none.
// - Lifetime: an item belongs to its instance; it is unlinked from its target's watcher
//   list before it is freed, and from the instance's structures before its target goes.
#pragma once

#include <sys/epoll.h>

#include <boost/intrusive/list.hpp>
#include <boost/intrusive/set.hpp>
#include <cstddef>
#include <cstdint>
#include <span>

#include "event/epoll_item.hpp"
#include "event/wait_queue.hpp"
#include "event/watch_list.hpp"

namespace pollux::event {

class Epoll {
public:
    Epoll() = default;
    ~Epoll() { clear(); }
    // ep_free(), at the close of the epoll fd: every item leaves its target and is freed.
    void clear() noexcept;
    Epoll(const Epoll&) = delete;
    Epoll& operator=(const Epoll&) = delete;

    // EPOLL_CTL_ADD (ep_insert): EPOLLERR | EPOLLHUP are always watched. The item is
    // queued at once if the target is already ready. -EEXIST, -ENOMEM.
    int add(int fd, WatchList& target, const epoll_event& event) noexcept;
    // EPOLL_CTL_MOD (ep_modify): new events and data, re-polled (re-arms a ONESHOT).
    // -ENOENT; -EINVAL for an item added with EPOLLEXCLUSIVE.
    int modify(int fd, const epoll_event& event) noexcept;
    // EPOLL_CTL_DEL: -ENOENT.
    int remove(int fd) noexcept;

    // ep_send_events(): fills `out` (at least one slot) with what the queued items report.
    int collect(std::span<epoll_event> out) noexcept;

    bool has_queued() const noexcept { return !ready_.empty(); }

    // ---- nesting (an epoll instance watched by another) ----
    // ep_eventpoll_poll(): EPOLLIN | EPOLLRDNORM while a queued item still reports
    // something (an item queued but no longer ready does not count).
    std::uint32_t poll_mask() const noexcept;
    // The watcher list of this instance's own fd: a queued item wakes it with EPOLLIN,
    // so an instance that watches this one learns of it (ep_poll_callback's poll_wait).
    void set_own_watchers(WatchList* own) noexcept { own_watchers_ = own; }
    // ep_loop_check(): adding `target` (an instance) to this one is ELOOP when this one
    // can be reached from it, or when the chain of instances through the new link would
    // have more than Linux's EP_MAX_NESTS (4) links; 0 otherwise.
    int check_nesting(const Epoll& target) const noexcept;
    // The instance behind a watcher list, when that list is an instance's own.
    static Epoll* owner_of(const WatchList& list) noexcept;
    std::size_t size() const noexcept { return items_.size(); }
    std::size_t queued() const noexcept { return ready_.size(); }
    bool contains(int fd) const noexcept { return items_.find(fd, FdLess{}) != items_.end(); }
    // Callbacks that queued an item since the instance was made (the waiter's mark).
    std::uint64_t wakeups() const noexcept { return wakeups_; }
    // The threads asleep in epoll_wait on this instance (threaded mode).
    WaitQueue& sleepers() noexcept { return sleepers_; }

private:
    friend class WatchList;

    struct FdLess {
        bool operator()(const EpollItem& a, const EpollItem& b) const noexcept { return a.fd < b.fd; }
        bool operator()(int fd, const EpollItem& b) const noexcept { return fd < b.fd; }
        bool operator()(const EpollItem& a, int fd) const noexcept { return a.fd < fd; }
    };
    using Items = boost::intrusive::set<
        EpollItem, boost::intrusive::member_hook<EpollItem, boost::intrusive::set_member_hook<>, &EpollItem::by_fd>,
        boost::intrusive::compare<FdLess>, boost::intrusive::constant_time_size<true>>;
    using ReadyList = boost::intrusive::list<
        EpollItem, boost::intrusive::member_hook<EpollItem, boost::intrusive::list_member_hook<>, &EpollItem::ready>,
        boost::intrusive::constant_time_size<true>>;

    // ep_poll_callback(): true when the wake counts as delivered (Linux's ewake).
    bool callback(EpollItem& item, std::uint32_t key) noexcept;
    // The item's target is closing: unlink it from this instance and free it.
    void forget(EpollItem& item) noexcept;
    // Queues `item` at the tail unless it is queued already, and wakes one sleeper;
    // true when a sleeper was woken.
    bool enqueue(EpollItem& item) noexcept;
    static std::uint32_t revents(const EpollItem& item) noexcept { return item.target->poll() & item.events; }

    // Links in the longest chain of instances below this one (0: it watches none), or
    // a huge value when `forbidden` is among them (a loop).
    int depth_below(const Epoll* forbidden) const noexcept;
    // Links in the longest chain of instances that watch this one, above it.
    int depth_above() const noexcept;

    Items items_;
    ReadyList ready_;
    WatchList* own_watchers_ = nullptr;
    WaitQueue sleepers_;  // threads in epoll_wait (threaded mode), exclusive as in ep_poll
    std::uint64_t wakeups_ = 0;
};

}  // namespace pollux::event
