#include "api/sockets.hpp"

#include <stdexcept>

namespace pollux::api {

namespace {
std::unique_ptr<FileTable> g_fds;
}  // namespace

FileTable& fds() {
    if (!g_fds) {
        g_fds = std::make_unique<FileTable>();
        runtime::set_api_teardown(&close_all);
    }
    return *g_fds;
}

int install(std::unique_ptr<socket::Socket>& s) noexcept {
    try {
        const int fd = fds().install(s.get());
        if (fd >= 0) (void)s.release();
        return fd;
    } catch (const std::exception&) {
        return -ENFILE;  // the table could not be created (fs.nr_open reaches pollux's range)
    }
}

void close_all() noexcept {
    if (!g_fds) return;
    for (int fd : g_fds->open_fds()) {
        socket::Socket* s = g_fds->remove(fd);
        s->close();
        if (!s->orphaned_on_close()) delete s;  // an orphan is its protocol layer's now
    }
}

socket::Socket* lookup(int fd, int& err) noexcept {
    socket::Socket* s = g_fds ? g_fds->get(fd) : nullptr;
    if (s == nullptr) {
        err = EBADF;
        return nullptr;
    }
    const runtime::ApiContext& c = runtime::api_context();
    if (c.shard == nullptr || !runtime::may_call_here(c)) {
        err = EOPNOTSUPP;
        return nullptr;
    }
    return s;
}

socket::Socket* lookup_socket(int fd, int& err) noexcept {
    socket::Socket* s = lookup(fd, err);
    if (s != nullptr && s->as_epoll() != nullptr) {
        err = ENOTSOCK;
        return nullptr;
    }
    return s;
}

time::Instant call_deadline(const socket::Socket& s, bool receiving) noexcept {
    const auto& o = s.options();
    const time::Instant now = runtime::api_context().shard->clock().now();
    if (receiving ? o.rcvtimeo_immediate : o.sndtimeo_immediate) return now;
    const time::Duration timeout = receiving ? o.rcvtimeo : o.sndtimeo;
    return timeout == time::Duration::zero() ? time::Instant::max() : now + timeout;
}

void after_send() noexcept {
    runtime::ApiContext& c = runtime::api_context();
    c.shard->run_loopback(c.shard->clock().now());
    if (!c.in_run_callback) c.shard->flush();
}

}  // namespace pollux::api
