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
// Contract (the locking rules of fs/eventpoll.c, for pollux's two modes)
// - Inline mode (today): everything here — ctl, collect, the callbacks from the
//   protocols, destruction — runs on the shard's thread (the thread that called px_init,
//   or px_run's callback). Nothing is locked; `wakeups_` is a plain counter the waiting
//   loop reads after each poll round.
// - Threaded mode (later, same structures): the shard's thread runs the callbacks; an
//   application thread runs ctl/collect. The tree (`items_`) and each item's `events`
//   and `data` are then guarded by the instance's mutex (Linux ep->mtx), taken by ctl and
//   collect only. The ready list and `wakeups_` are guarded by the instance's spinlock
//   (Linux ep->lock), taken by the callback and by collect around its splice; a waiter
//   sleeps on the instance's wait queue and the callback wakes one (EPOLLEXCLUSIVE) or
//   all. A socket's watcher list is guarded by its shard's lock (the poll loop holds it
//   per burst). Lock order: instance mutex -> shard lock -> instance spinlock. The inline
//   path takes none of them: whether the caller is the shard's thread decides.
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
    std::size_t size() const noexcept { return items_.size(); }
    std::size_t queued() const noexcept { return ready_.size(); }
    bool contains(int fd) const noexcept { return items_.find(fd, FdLess{}) != items_.end(); }
    // Callbacks that queued an item since the instance was made (the waiter's mark).
    std::uint64_t wakeups() const noexcept { return wakeups_; }

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

    // ep_poll_callback().
    void callback(EpollItem& item, std::uint32_t key) noexcept;
    // The item's target is closing: unlink it from this instance and free it.
    void forget(EpollItem& item) noexcept;
    // Queues `item` at the tail unless it is queued already.
    void enqueue(EpollItem& item) noexcept;
    static std::uint32_t revents(const EpollItem& item) noexcept { return item.target->poll() & item.events; }

    Items items_;
    ReadyList ready_;
    std::uint64_t wakeups_ = 0;
};

}  // namespace pollux::event
