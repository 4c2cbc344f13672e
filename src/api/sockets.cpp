#include "api/sockets.hpp"

#include <stdexcept>

namespace pollux::api {

namespace {
std::unique_ptr<socket::FdTable<socket::Socket>> g_fds;
}  // namespace

socket::FdTable<socket::Socket>& fds() {
    if (!g_fds) {
        g_fds = std::make_unique<socket::FdTable<socket::Socket>>();
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
    if (c.shard == nullptr || c.owner != std::this_thread::get_id()) {
        err = EOPNOTSUPP;
        return nullptr;
    }
    return s;
}

void after_send() noexcept {
    runtime::ApiContext& c = runtime::api_context();
    c.shard->run_loopback(c.shard->clock().now());
    if (!c.in_run_callback) c.shard->flush();
}

}  // namespace pollux::api
