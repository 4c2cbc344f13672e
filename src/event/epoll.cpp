#include "event/epoll.hpp"

#include <algorithm>
#include <cerrno>
#include <new>

#include "event/poll_mask.hpp"

namespace pollux::event {

void Epoll::clear() noexcept {
    sleepers_.wake_all_gone();
    ready_.clear();
    items_.clear_and_dispose([](EpollItem* item) {
        item->target->items_.erase(item->target->items_.iterator_to(*item));
        delete item;
    });
}

bool Epoll::enqueue(EpollItem& item) noexcept {
    if (!item.ready.is_linked()) {
        ready_.push_back(item);
        ++wakeups_;
    }
    // ep_poll_safewake(): an instance watching this one hears of it. The nesting checks
    // bound the depth of this recursion.
    if (own_watchers_ != nullptr && !own_watchers_->empty()) own_watchers_->wake(EPOLLIN);
    // wake_up(&ep->wq): one sleeping epoll_wait, even when the item was queued already.
    if (sleepers_.empty()) return false;
    return sleepers_.wake_one();
}

// ep_poll_callback(): a disabled (fired ONESHOT) item ignores wake-ups; a key that names
// events filters by interest (EPOLLERR and EPOLLHUP are always of interest). The answer is
// Linux's `ewake`: an EPOLLEXCLUSIVE item counts as delivered only when it woke a thread
// asleep in epoll_wait on its instance and the key names an event it asked for; any
// other item always counts (WatchList::wake stops at the first exclusive delivery).
bool Epoll::callback(EpollItem& item, std::uint32_t key) noexcept {
    const bool exclusive = (item.events & EPOLLEXCLUSIVE) != 0;
    if (!item.armed()) return !exclusive;
    if (key != kWakeAll && (key & item.events) == 0) return !exclusive;
    const bool woke = enqueue(item);
    if (!exclusive) return true;
    if (!woke) return false;
    const std::uint32_t in_out = key == kWakeAll ? 0 : key & (EPOLLIN | EPOLLOUT);
    switch (in_out) {
        case EPOLLIN: return (item.events & EPOLLIN) != 0;
        case EPOLLOUT: return (item.events & EPOLLOUT) != 0;
        case 0: return true;
        default: return false;  // both: Linux's switch has no case for it
    }
}

int Epoll::add(int fd, WatchList& target, const epoll_event& event) noexcept {
    Items::insert_commit_data commit;
    const auto [pos, fresh] = items_.insert_check(fd, FdLess{}, commit);
    (void)pos;
    if (!fresh) return -EEXIST;
    auto* item = new (std::nothrow) EpollItem;
    if (item == nullptr) return -ENOMEM;
    item->fd = fd;
    item->events = event.events | EPOLLERR | EPOLLHUP;
    item->data = event.data;
    item->epoll = this;
    item->target = &target;
    items_.insert_commit(*item, commit);
    target.items_.push_back(*item);
    if (revents(*item) != 0) (void)enqueue(*item);
    return 0;
}

int Epoll::modify(int fd, const epoll_event& event) noexcept {
    const auto it = items_.find(fd, FdLess{});
    if (it == items_.end()) return -ENOENT;
    if ((it->events & EPOLLEXCLUSIVE) != 0) return -EINVAL;
    it->events = event.events | EPOLLERR | EPOLLHUP;
    it->data = event.data;
    if (revents(*it) != 0) (void)enqueue(*it);
    return 0;
}

int Epoll::remove(int fd) noexcept {
    const auto it = items_.find(fd, FdLess{});
    if (it == items_.end()) return -ENOENT;
    forget(*it);
    return 0;
}

void Epoll::forget(EpollItem& item) noexcept {
    if (item.ready.is_linked()) ready_.erase(ready_.iterator_to(item));
    items_.erase(items_.iterator_to(item));
    item.target->items_.erase(item.target->items_.iterator_to(item));
    delete &item;
}

std::uint32_t Epoll::poll_mask() const noexcept {
    for (const EpollItem& item : ready_) {
        if (revents(item) != 0) return EPOLLIN | EPOLLRDNORM;
    }
    return 0;
}

Epoll* Epoll::owner_of(const WatchList& list) noexcept { return list.nested_epoll(); }

namespace {
constexpr int kMaxNests = 4;       // EP_MAX_NESTS: edges in a chain of instances
constexpr int kLoop = 1 << 20;     // depth_below() found the instance being added to
}  // namespace

int Epoll::depth_below(const Epoll* forbidden) const noexcept {
    int deepest = 0;
    for (const EpollItem& item : items_) {
        const Epoll* child = owner_of(*item.target);
        if (child == nullptr) continue;
        if (child == forbidden) return kLoop;
        const int d = child->depth_below(forbidden);
        if (d >= kLoop) return kLoop;
        deepest = std::max(deepest, d + 1);
    }
    return deepest;
}

int Epoll::depth_above() const noexcept {
    int deepest = 0;
    if (own_watchers_ == nullptr) return 0;
    for (const EpollItem& item : own_watchers_->items_) deepest = std::max(deepest, item.epoll->depth_above() + 1);
    return deepest;
}

// ep_loop_check() (Linux 6.x): adding `target` to this instance must not close a loop,
// and the longest chain of instances through the new link — the edges above this one,
// the new one, and those below `target` — must stay within EP_MAX_NESTS edges.
int Epoll::check_nesting(const Epoll& target) const noexcept {
    if (&target == this) return -ELOOP;
    const int below = target.depth_below(this);
    if (below >= kLoop) return -ELOOP;
    return depth_above() + 1 + below > kMaxNests ? -ELOOP : 0;
}

// ep_send_events(): each queued item is taken off the list and re-polled; one that
// reports nothing is dropped (it was ready when queued, no longer). Level-triggered items
// that reported go back to the tail after the scan, behind what the scan did not reach.
int Epoll::collect(std::span<epoll_event> out) noexcept {
    ReadyList requeue;
    std::size_t n = 0;
    while (n < out.size() && !ready_.empty()) {
        EpollItem& item = ready_.front();
        ready_.pop_front();
        const std::uint32_t r = revents(item);
        if (r == 0) continue;
        out[n].events = r;
        out[n].data = item.data;
        ++n;
        if ((item.events & EPOLLONESHOT) != 0) {
            item.events &= kPrivateBits;
        } else if ((item.events & EPOLLET) == 0) {
            requeue.push_back(item);
        }
    }
    ready_.splice(ready_.end(), requeue);
    return static_cast<int>(n);
}

}  // namespace pollux::event
