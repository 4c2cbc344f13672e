#include "event/watch_list.hpp"

#include "event/epoll.hpp"
#include "event/poll_mask.hpp"

namespace pollux::event {

void WatchList::wake(std::uint32_t key) noexcept {
    // __wake_up_common() with nr_exclusive 1: every item is called, except that after
    // the first EPOLLEXCLUSIVE item that delivered, the other exclusive ones are skipped
    // (Linux keeps them at the queue's tail and stops there).
    bool exclusive_delivered = false;
    for (EpollItem& item : items_) {
        const bool exclusive = (item.events & EPOLLEXCLUSIVE) != 0;
        if (exclusive && exclusive_delivered) continue;
        if (item.epoll->callback(item, key) && exclusive) exclusive_delivered = true;
    }
    if (!sleepers_.empty()) sleepers_.wake_all();
}

void WatchList::publish(std::uint32_t mask, std::size_t level) noexcept {
    std::uint32_t key = mask & ~published_mask_;
    if ((key & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0) key = kWakeAll;
    if (level > published_level_ && (mask & EPOLLIN) != 0) key |= kWakeReadable;
    published_mask_ = mask;
    published_level_ = level;
    if (key != 0 && !items_.empty()) {
        wake(key);
    } else if (!sleepers_.empty()) {
        // A blocked call re-checks on any change, not only on rising bits: a reader that
        // emptied the queue may have left the published snapshot stale.
        sleepers_.wake_all();
    }
}

void WatchList::detach_all() noexcept {
    while (!items_.empty()) items_.front().epoll->forget(items_.front());
    sleepers_.wake_all_gone();
}

}  // namespace pollux::event
