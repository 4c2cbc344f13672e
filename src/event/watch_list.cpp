#include "event/watch_list.hpp"

#include "event/epoll.hpp"
#include "event/poll_mask.hpp"

namespace pollux::event {

void WatchList::wake(std::uint32_t key) noexcept {
    for (EpollItem& item : items_) item.epoll->callback(item, key);
}

void WatchList::publish(std::uint32_t mask, std::size_t level) noexcept {
    std::uint32_t key = mask & ~published_mask_;
    if ((key & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0) key = kWakeAll;
    if (level > published_level_ && (mask & EPOLLIN) != 0) key |= kWakeReadable;
    published_mask_ = mask;
    published_level_ = level;
    if (key != 0 && !items_.empty()) wake(key);
}

void WatchList::detach_all() noexcept {
    while (!items_.empty()) items_.front().epoll->forget(items_.front());
}

}  // namespace pollux::event
