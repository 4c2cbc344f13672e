// The API's side of sockets: the process's fd table, the checks every call starts with
// (fd -> socket, owner thread), and the wait of a blocking call.
//
// This is the only code that knows fd numbers and sets errno (DESIGN.md §4); everything
// below it returns -errno.
//
// Contract: all of it runs on the owner thread of runtime::api_context(), or, in threaded
// mode, on any thread holding the shard lock (see there): every px_* entry point takes
// runtime::ApiLock first.
#pragma once

#include <optional>

#include <cerrno>
#include <memory>

#include "runtime/api_context.hpp"
#include "socket/fd_table.hpp"
#include "socket/socket.hpp"

namespace pollux::api {

// The process's pollux files: sockets and epoll instances (src/api/epoll_file.hpp) in one
// fd space. Removing an fd is the file's release: the socket leaves every epoll instance
// that watches it (Linux eventpoll_release() from __fput()), even when it lives on as an
// orphan finishing its close.
class FileTable {
public:
    FileTable() = default;  // throws as socket::FdTable's constructor does

    int install(socket::Socket* s) noexcept { return table_.install(s); }
    socket::Socket* get(int fd) const noexcept { return table_.get(fd); }
    socket::Socket* remove(int fd) noexcept {
        socket::Socket* s = table_.remove(fd);
        if (s != nullptr) s->watchers().detach_all();
        return s;
    }
    auto open_fds() const noexcept { return table_.open_fds(); }
    std::size_t size() const noexcept { return table_.size(); }

private:
    socket::FdTable<socket::Socket> table_;
};

// The fd table, created on first use.
FileTable& fds();

// Installs a new socket; the fd (and the table owns `s` now), or -errno (EMFILE, ENFILE
// when the table could not be made) and `s` is left to the caller.
int install(std::unique_ptr<socket::Socket>& s) noexcept;

// Closes and destroys every socket (px_fini, a harness's teardown).
void close_all() noexcept;

// The socket behind `fd` for a call made now: null with `err` set to EBADF for an fd that
// is not open, EOPNOTSUPP from a thread other than the owner's outside threaded mode.
socket::Socket* lookup(int fd, int& err) noexcept;
// lookup() for the calls that need a socket (bind, send, getsockopt, ...): an epoll fd is
// ENOTSOCK there, as Linux's sockfd_lookup() answers for any file that is not a socket.
// close and fcntl take any fd (lookup()).
socket::Socket* lookup_socket(int fd, int& err) noexcept;

// The instant a blocking call gives up: SO_RCVTIMEO / SO_SNDTIMEO from now (max when
// they are 0, "forever"; now when they were set negative, "never wait").
time::Instant call_deadline(const socket::Socket& s, bool receiving) noexcept;

// A blocking call's loop: runs `attempt` (returning a count or -errno); while it says
// -EAGAIN and the call may block, waits until it succeeds, the timeout passes (EAGAIN),
// px_stop() is called (EINTR), or — for a receive — the socket is shut down for reading
// (0, as Linux returns at end of stream). A call that waits several times (a stream send
// of more than the buffer holds, MSG_WAITALL) passes `deadline`: set at its first wait,
// it bounds them all together, as Linux's timeo does.
// How it waits: the caller that is the shard's thread keeps it polling; in threaded mode
// any other thread sleeps on the socket's wait queue (sk_wait_event), woken by the
// stack's readiness changes, and returns EBADF if another thread closes the fd meanwhile.
template <typename Attempt>
long wait_for(socket::Socket& s, bool receiving, bool may_block, Attempt&& attempt,
              std::optional<time::Instant>* deadline = nullptr) noexcept {
    long r = attempt();
    if (r != -EAGAIN || !may_block) return r;
    std::optional<time::Instant> own;
    std::optional<time::Instant>& until = deadline != nullptr ? *deadline : own;
    if (!until) until = call_deadline(s, receiving);
    runtime::Shard& shard = *runtime::api_context().shard;
    while (true) {
        if (receiving && (s.shutdown_state() & socket::kShutdownRead) != 0) return 0;
        if (runtime::stop_requested()) return -EINTR;
        if (shard.clock().now() >= *until) return -EAGAIN;
        if (runtime::api_context().manual_clock) return -EAGAIN;  // nothing can change: harness.h
        if (runtime::should_sleep()) {
            const runtime::SleepResult slept = runtime::sleep_on(s.watchers().sleepers(), *until);
            if (slept == runtime::SleepResult::gone) return -EBADF;  // `s` may be freed: not touched
            if (slept == runtime::SleepResult::stopped) return -EINTR;
        } else {
            runtime::poll_here(shard);
        }
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
