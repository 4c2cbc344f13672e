// WatchList: the epoll items that watch one pollable object (a socket) — Linux's socket
// wait queue with its ep_poll_callback entries — plus the object's readiness as last
// published, for protocols that publish it rather than compute it on demand.
//
// A readiness change is a wake(key): every item whose interest meets `key` (or any item
// when key is kWakeAll) is queued on its instance's ready list if it is not there yet
// (ep_poll_callback). Nothing is computed here: the instance asks the object's poll
// function for the mask when it reports.
//
// publish(mask, level) turns state snapshots into wake keys for a protocol that only
// knows "something may have changed" (TCP's after_event): bits that rose are the key,
// a rise of EPOLLRDHUP, EPOLLHUP or EPOLLERR is a state change (kWakeAll, as
// sk_state_change and tcp_reset wake everyone), and a rise of `level` (bytes or
// connections queued for reading) is a new arrival even when EPOLLIN was already set,
// which is what an edge-triggered watcher must see (sock_def_readable on every skb).
//
// Threads asleep in a blocking call on the object (threaded mode) wait on `sleepers()`;
// every wake and every publish wakes them all, and each re-checks its own condition.
//
// Contract: see epoll.hpp.
#pragma once

#include <boost/intrusive/list.hpp>
#include <cstddef>
#include <cstdint>

#include "event/epoll_item.hpp"
#include "event/wait_queue.hpp"

namespace pollux::event {

class WatchList {
public:
    using PollFn = std::uint32_t (*)(const void* object) noexcept;

    // `poll(object)` answers the object's current mask (Linux's f_op->poll).
    WatchList(const void* object, PollFn poll) noexcept : object_(object), poll_(poll) {}
    // The object goes away: its items leave their instances and are freed.
    ~WatchList() { detach_all(); }
    WatchList(const WatchList&) = delete;
    WatchList& operator=(const WatchList&) = delete;

    std::uint32_t poll() const noexcept { return poll_(object_); }

    // Linux __wake_up(wq, key): queues the interested items. Cheap when nobody watches.
    void wake(std::uint32_t key) noexcept;
    // A snapshot of the object's readiness (see above): stores it and wakes with the key
    // derived from the previous snapshot.
    void publish(std::uint32_t mask, std::size_t level) noexcept;
    std::uint32_t published_mask() const noexcept { return published_mask_; }

    // eventpoll_release(): the fd is closed, every item watching it is removed and freed,
    // and every thread blocked on the object is woken and told it is gone.
    void detach_all() noexcept;
    // The threads blocked in a call on the object (threaded mode, wait_queue.hpp).
    WaitQueue& sleepers() noexcept { return sleepers_; }
    // The epoll instance this list belongs to, when the object is one (nesting).
    Epoll* nested_epoll() const noexcept { return nested_epoll_; }
    void set_nested_epoll(Epoll* ep) noexcept { nested_epoll_ = ep; }
    bool empty() const noexcept { return items_.empty(); }
    std::size_t size() const noexcept { return items_.size(); }

private:
    friend class Epoll;
    using Items = boost::intrusive::list<
        EpollItem, boost::intrusive::member_hook<EpollItem, boost::intrusive::list_member_hook<>, &EpollItem::watcher>,
        boost::intrusive::constant_time_size<true>>;

    const void* object_;
    PollFn poll_;
    Items items_;
    WaitQueue sleepers_;
    Epoll* nested_epoll_ = nullptr;
    std::uint32_t published_mask_ = 0;
    std::size_t published_level_ = 0;
};

}  // namespace pollux::event
