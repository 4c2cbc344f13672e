// The API's side of sockets: the process's fd table, the checks every call starts with
// (fd -> socket, owner thread), and the wait of a blocking call.
//
// This is the only code that knows fd numbers and sets errno (DESIGN.md §4); everything
// below it returns -errno.
//
// Contract: all of it runs on the owner thread of runtime::api_context() (see there).
#pragma once

#include <cerrno>
#include <memory>

#include "runtime/api_context.hpp"
#include "socket/fd_table.hpp"
#include "socket/socket.hpp"

namespace pollux::api {

// The fd table, created on first use.
socket::FdTable<socket::Socket>& fds();

// Installs a new socket; the fd (and the table owns `s` now), or -errno (EMFILE, ENFILE
// when the table could not be made) and `s` is left to the caller.
int install(std::unique_ptr<socket::Socket>& s) noexcept;

// Closes and destroys every socket (px_fini, a harness's teardown).
void close_all() noexcept;

// The socket behind `fd` for a call made now: null with `err` set to EBADF for an fd that
// is not open, EOPNOTSUPP from a thread other than the owner's.
socket::Socket* lookup(int fd, int& err) noexcept;

// A blocking call's loop: runs `attempt` (returning a count or -errno); while it says
// -EAGAIN and the call may block, keeps the shard polling until it succeeds, the timeout
// passes (EAGAIN), px_stop() is called (EINTR), or — for a receive — the socket is shut
// down for reading (0, as Linux returns at end of stream).
template <typename Attempt>
long wait_for(socket::Socket& s, bool receiving, bool may_block, Attempt&& attempt) noexcept {
    long r = attempt();
    if (r != -EAGAIN || !may_block) return r;
    const auto& o = s.options();
    if (receiving ? o.rcvtimeo_immediate : o.sndtimeo_immediate) return r;
    const time::Duration timeout = receiving ? o.rcvtimeo : o.sndtimeo;
    runtime::Shard& shard = *runtime::api_context().shard;
    const time::Instant deadline =
        timeout == time::Duration::zero() ? time::Instant::max() : shard.clock().now() + timeout;
    while (true) {
        if (receiving && (s.shutdown_state() & socket::kShutdownRead) != 0) return 0;
        if (runtime::stop_requested()) return -EINTR;
        if (shard.clock().now() >= deadline) return -EAGAIN;
        if (runtime::api_context().manual_clock) return -EAGAIN;  // nothing can change: harness.h
        shard.poll_once();
        r = attempt();
        if (r != -EAGAIN) return r;
    }
}

// After a send: deliver loopback traffic now (Linux runs it before sendto returns) and,
// outside px_run's loop, hand frames to the port.
void after_send() noexcept;

// errno = -r and -1 for a negative r; r otherwise.
inline long result(long r) noexcept {
    if (r >= 0) return r;
    errno = static_cast<int>(-r);
    return -1;
}

}  // namespace pollux::api
