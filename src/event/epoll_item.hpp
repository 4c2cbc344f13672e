// EpollItem: one (epoll instance, watched fd) registration — Linux's struct epitem. It is
// linked into three intrusive structures at once: its instance's tree keyed by fd, its
// instance's ready list while it has something to report, and its target's watcher list
// (the socket's wait queue in Linux's terms). Allocated by EPOLL_CTL_ADD, freed by
// EPOLL_CTL_DEL, by the close of the target or by the close of the instance.
#pragma once

#include <sys/epoll.h>

#include <boost/intrusive/list_hook.hpp>
#include <boost/intrusive/set_hook.hpp>
#include <cstdint>

namespace pollux::event {

class Epoll;
class WatchList;

// Linux's EP_PRIVATE_BITS: flags, not events. An item whose events hold nothing else is
// disabled (a fired EPOLLONESHOT) and is not queued until EPOLL_CTL_MOD re-arms it.
inline constexpr std::uint32_t kPrivateBits = EPOLLWAKEUP | EPOLLONESHOT | EPOLLET | EPOLLEXCLUSIVE;

struct EpollItem {
    // Safe-mode hooks: is_linked() is exact, which the ready-list push relies on.
    boost::intrusive::set_member_hook<> by_fd;
    boost::intrusive::list_member_hook<> ready;
    boost::intrusive::list_member_hook<> watcher;

    int fd = -1;
    std::uint32_t events = 0;  // the caller's events | EPOLLERR | EPOLLHUP, and the flags
    epoll_data_t data{};
    Epoll* epoll = nullptr;
    WatchList* target = nullptr;

    bool armed() const noexcept { return (events & ~kPrivateBits) != 0; }
};

}  // namespace pollux::event
