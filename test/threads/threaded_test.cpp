// Threaded mode (issue 7): application threads share one shard through the public API.
//
//   threaded_test [EAL args] -- --ip 198.18.0.2/24
//
// The stack runs on a net_null port that receives nothing; every connection goes over
// 127.0.0.1, which pollux delivers itself. Phase 1: 4 server threads (epoll, non-blocking
// sockets, each asleep in px_epoll_wait) and 4 client threads (blocking connect, send,
// recv with MSG_WAITALL) echo 4 x 40 connections of growing messages while px_run polls on
// the main thread; every byte is checked. Phase 2: one check per blocking call — accept,
// connect, recv, send, read, write and epoll_wait — with SO_RCVTIMEO/SO_SNDTIMEO, with
// O_NONBLOCK, woken by another thread, and ended by a close from another thread (EBADF)
// and by px_stop() (EINTR); an epoll instance that also watches a kernel eventfd; and
// EPOLLEXCLUSIVE across four sleeping threads. It prints one line per check and exits 1
// if any failed.
// Built normally it runs in every test tree; scripts/test.sh also runs it under
// ThreadSanitizer, where a data race is a failure.
#include <pollux/epoll.h>
#include <pollux/pollux.h>
#include <pollux/socket.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <thread>
#include <vector>

namespace {

constexpr int kPairs = 4;                   // server threads, and as many client threads
constexpr int kConnectionsPerClient = 40;   // sequential connections of one client
constexpr int kMessagesPerConnection = 8;   // round trips per connection
constexpr int kBasePort = 7100;
constexpr int kServerBuffer = 64 * 1024;

std::atomic<int> g_failures{0};

void check(bool ok, const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    std::printf("%s: ", ok ? "ok  " : "FAIL");
    std::vprintf(fmt, ap);
    std::printf("\n");
    std::fflush(stdout);
    va_end(ap);
    if (!ok) g_failures.fetch_add(1);
}

sockaddr_in loopback(int port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

const sockaddr* sa(const sockaddr_in& a) { return reinterpret_cast<const sockaddr*>(&a); }

double ms_since(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

int listen_on(int port, int flags) {
    const int l = px_socket(AF_INET, SOCK_STREAM | flags, 0);
    const int one = 1;
    px_setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    const sockaddr_in a = loopback(port);
    if (l < 0 || px_bind(l, sa(a), sizeof a) != 0 || px_listen(l, 128) != 0) {
        check(false, "listen on 127.0.0.1:%d: %s", port, std::strerror(errno));
        return -1;
    }
    return l;
}

// A connected pair over loopback: (client, accepted).
bool connected_pair(int port, int& client, int& server) {
    const int l = listen_on(port, 0);
    if (l < 0) return false;
    client = px_socket(AF_INET, SOCK_STREAM, 0);
    const sockaddr_in a = loopback(port);
    const bool ok = px_connect(client, sa(a), sizeof a) == 0 && (server = px_accept(l, nullptr, nullptr)) >= 0;
    px_close(l);
    if (!ok) check(false, "connected pair on port %d: %s", port, std::strerror(errno));
    return ok;
}

// Byte i of message m of connection c of client k: every byte is checked on its way back.
unsigned char pattern(int k, int c, int m, std::size_t i) {
    return static_cast<unsigned char>(k * 131 + c * 31 + m * 7 + static_cast<int>(i));
}

// ---- phase 1: echo ----

struct ServerConnection {
    int fd = -1;
    std::vector<unsigned char> pending;  // received, not yet sent back
};

// An epoll echo server: non-blocking sockets, the thread asleep in px_epoll_wait. Ends
// when px_epoll_wait reports EINTR (px_stop).
void echo_server(int index, std::atomic<long>* echoed, std::atomic<int>* listening) {
    const int l = listen_on(kBasePort + index, SOCK_NONBLOCK);
    listening->fetch_add(1);
    const int ep = px_epoll_create1(0);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = l;
    if (l < 0 || ep < 0 || px_epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev) != 0) {
        check(false, "server %d: epoll set-up: %s", index, std::strerror(errno));
        return;
    }
    std::vector<ServerConnection> conns(4096);
    std::vector<unsigned char> buffer(kServerBuffer);
    long bytes = 0;
    epoll_event events[64];
    while (true) {
        const int n = px_epoll_wait(ep, events, 64, -1);
        if (n < 0) {
            if (errno != EINTR) check(false, "server %d: epoll_wait: %s", index, std::strerror(errno));
            break;
        }
        for (int i = 0; i < n; ++i) {
            const int fd = events[i].data.fd;
            if (fd == l) {
                int c;
                while ((c = px_accept4(l, nullptr, nullptr, SOCK_NONBLOCK)) >= 0) {
                    epoll_event cev{};
                    cev.events = EPOLLIN | EPOLLOUT | EPOLLET | EPOLLRDHUP;
                    cev.data.fd = c;
                    px_epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
                    conns[static_cast<std::size_t>(c) % conns.size()] = ServerConnection{c, {}};
                }
                continue;
            }
            ServerConnection& sc = conns[static_cast<std::size_t>(fd) % conns.size()];
            bool closed = false;
            // Edge-triggered: read and write until each would block.
            while (true) {
                if (!sc.pending.empty()) {
                    const ssize_t w = px_send(fd, sc.pending.data(), sc.pending.size(), MSG_NOSIGNAL);
                    if (w > 0) {
                        bytes += w;
                        sc.pending.erase(sc.pending.begin(), sc.pending.begin() + w);
                        continue;
                    }
                    if (w < 0 && errno != EAGAIN) closed = true;
                    break;  // the send buffer is full: EPOLLOUT will come
                }
                const ssize_t r = px_recv(fd, buffer.data(), buffer.size(), 0);
                if (r > 0) {
                    sc.pending.insert(sc.pending.end(), buffer.begin(), buffer.begin() + r);
                    continue;
                }
                if (r == 0 || errno != EAGAIN) closed = true;
                break;
            }
            if (closed && sc.pending.empty()) {
                px_close(fd);
                sc = ServerConnection{};
            }
        }
    }
    for (ServerConnection& sc : conns) {
        if (sc.fd >= 0) px_close(sc.fd);
    }
    px_close(l);
    px_close(ep);
    echoed->fetch_add(bytes);
}

// A blocking client: connects, sends messages of growing size, reads each echo back whole
// (MSG_WAITALL) and checks it. Returns the bytes verified, or -1.
long echo_client(int k) {
    const sockaddr_in a = loopback(kBasePort + k);
    std::vector<unsigned char> out, in;
    long verified = 0;
    for (int c = 0; c < kConnectionsPerClient; ++c) {
        const int fd = px_socket(AF_INET, SOCK_STREAM, 0);
        if (px_connect(fd, sa(a), sizeof a) != 0) {
            check(false, "client %d: connect: %s", k, std::strerror(errno));
            return -1;
        }
        for (int m = 0; m < kMessagesPerConnection; ++m) {
            const std::size_t size = 1 + static_cast<std::size_t>((c * kMessagesPerConnection + m) * 997 % 60000);
            out.resize(size);
            in.assign(size, 0);
            for (std::size_t i = 0; i < size; ++i) out[i] = pattern(k, c, m, i);
            if (px_send(fd, out.data(), size, 0) != static_cast<ssize_t>(size)) {
                check(false, "client %d: send %zu: %s", k, size, std::strerror(errno));
                return -1;
            }
            const ssize_t r = px_recv(fd, in.data(), size, MSG_WAITALL);
            if (r != static_cast<ssize_t>(size) || in != out) {
                check(false, "client %d conn %d msg %d: echo of %zu bytes: got %zd", k, c, m, size, r);
                return -1;
            }
            verified += static_cast<long>(size);
        }
        px_close(fd);
    }
    return verified;
}

void phase_echo(std::vector<std::thread>& servers, std::atomic<long>& echoed) {
    std::atomic<int> listening{0};
    for (int i = 0; i < kPairs; ++i) servers.emplace_back(echo_server, i, &echoed, &listening);
    while (listening.load() < kPairs) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    std::vector<std::thread> clients;
    std::vector<long> verified(kPairs, 0);
    const auto start = std::chrono::steady_clock::now();
    for (int k = 0; k < kPairs; ++k) clients.emplace_back([k, &verified] { verified[static_cast<std::size_t>(k)] = echo_client(k); });
    for (std::thread& t : clients) t.join();
    long total = 0;
    bool all = true;
    for (long v : verified) {
        all = all && v > 0;
        total += v;
    }
    check(all, "echo: %d client threads x %d connections x %d messages, %ld bytes verified in %.0f ms", kPairs,
          kConnectionsPerClient, kMessagesPerConnection, total, ms_since(start));
}

// ---- phase 2: blocking calls ----

constexpr int kCallPort = 7300;

void set_timeout(int fd, int option, int ms) {
    timeval tv{};
    tv.tv_sec = ms / 1000;
    tv.tv_usec = (ms % 1000) * 1000;
    px_setsockopt(fd, SOL_SOCKET, option, &tv, sizeof tv);
}

// Runs `call` on a fresh thread while this one waits `delay_ms` and then runs `act`;
// returns how long `call` blocked.
double blocked_for(const std::function<void()>& call, int delay_ms, const std::function<void()>& act) {
    double took = 0;
    std::thread t([&] {
        const auto start = std::chrono::steady_clock::now();
        call();
        took = ms_since(start);
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    act();
    t.join();
    return took;
}

void phase_calls() {
    int port = kCallPort;

    {  // accept: timeout, non-blocking, woken by a connection from another thread
        const int l = listen_on(port, 0);
        set_timeout(l, SO_RCVTIMEO, 100);
        auto start = std::chrono::steady_clock::now();
        int r = px_accept(l, nullptr, nullptr);
        double took = ms_since(start);
        check(r == -1 && errno == EAGAIN && took >= 95, "accept with SO_RCVTIMEO 100 ms: EAGAIN after %.0f ms", took);
        px_fcntl(l, F_SETFL, O_NONBLOCK);
        start = std::chrono::steady_clock::now();
        r = px_accept(l, nullptr, nullptr);
        took = ms_since(start);
        check(r == -1 && errno == EAGAIN && took < 50, "accept on O_NONBLOCK: EAGAIN at once (%.1f ms)", took);
        px_fcntl(l, F_SETFL, 0);
        set_timeout(l, SO_RCVTIMEO, 0);
        int accepted = -1, c = px_socket(AF_INET, SOCK_STREAM, 0);
        const sockaddr_in a = loopback(port);
        took = blocked_for([&] { accepted = px_accept(l, nullptr, nullptr); }, 50,
                           [&] { px_connect(c, sa(a), sizeof a); });
        check(accepted >= 0 && took >= 45, "accept woken by a connect from another thread after %.0f ms", took);
        px_close(accepted);
        px_close(c);
        px_close(l);
        ++port;
    }
    {  // connect: refused (blocking), EINPROGRESS (non-blocking) then writable
        const sockaddr_in a = loopback(port);
        int c = px_socket(AF_INET, SOCK_STREAM, 0);
        int r = px_connect(c, sa(a), sizeof a);
        check(r == -1 && errno == ECONNREFUSED, "blocking connect to a closed port: ECONNREFUSED");
        px_close(c);
        // Nobody answers for 198.18.0.99 (the port receives nothing): SO_SNDTIMEO ends the
        // wait with EINPROGRESS, the handshake going on (Linux's inet_wait_for_connect).
        c = px_socket(AF_INET, SOCK_STREAM, 0);
        set_timeout(c, SO_SNDTIMEO, 100);
        sockaddr_in silent = loopback(80);
        inet_pton(AF_INET, "198.18.0.99", &silent.sin_addr);
        auto start = std::chrono::steady_clock::now();
        r = px_connect(c, sa(silent), sizeof silent);
        double took = ms_since(start);
        check(r == -1 && errno == EINPROGRESS && took >= 95, "connect with SO_SNDTIMEO 100 ms to a silent host: EINPROGRESS after %.0f ms", took);
        px_close(c);
        const int l = listen_on(port, 0);
        c = px_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        r = px_connect(c, sa(a), sizeof a);
        const int connect_errno = errno;
        const int ep = px_epoll_create1(0);
        epoll_event ev{};
        ev.events = EPOLLOUT;
        px_epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
        epoll_event out{};
        const int n = px_epoll_wait(ep, &out, 1, 1000);
        int so_error = -1;
        socklen_t len = sizeof so_error;
        px_getsockopt(c, SOL_SOCKET, SO_ERROR, &so_error, &len);
        check(r == -1 && connect_errno == EINPROGRESS && n == 1 && (out.events & EPOLLOUT) != 0 && so_error == 0,
              "non-blocking connect: EINPROGRESS, then EPOLLOUT from epoll_wait and SO_ERROR 0");
        px_close(ep);
        px_close(c);
        px_close(l);
        ++port;
    }
    {  // recv and read: timeout, non-blocking, woken by a send from another thread
        int c = -1, s = -1;
        if (connected_pair(port++, c, s)) {
            char buf[64];
            set_timeout(s, SO_RCVTIMEO, 100);
            auto start = std::chrono::steady_clock::now();
            ssize_t r = px_recv(s, buf, sizeof buf, 0);
            double took = ms_since(start);
            check(r == -1 && errno == EAGAIN && took >= 95, "recv with SO_RCVTIMEO 100 ms: EAGAIN after %.0f ms", took);
            start = std::chrono::steady_clock::now();
            r = px_read(s, buf, sizeof buf);
            took = ms_since(start);
            check(r == -1 && errno == EAGAIN && took >= 95, "read with SO_RCVTIMEO 100 ms: EAGAIN after %.0f ms", took);
            r = px_recv(s, buf, sizeof buf, MSG_DONTWAIT);
            check(r == -1 && errno == EAGAIN, "recv with MSG_DONTWAIT: EAGAIN");
            px_fcntl(s, F_SETFL, O_NONBLOCK);
            start = std::chrono::steady_clock::now();
            r = px_read(s, buf, sizeof buf);
            took = ms_since(start);
            check(r == -1 && errno == EAGAIN && took < 50, "read on O_NONBLOCK: EAGAIN at once (%.1f ms)", took);
            px_fcntl(s, F_SETFL, 0);
            set_timeout(s, SO_RCVTIMEO, 0);
            took = blocked_for([&] { r = px_recv(s, buf, sizeof buf, 0); }, 50, [&] { px_send(c, "wake", 4, 0); });
            check(r == 4 && took >= 45, "recv woken by a send from another thread after %.0f ms", took);
            took = blocked_for([&] { r = px_read(s, buf, sizeof buf); }, 50, [&] { px_write(c, "up", 2); });
            check(r == 2 && took >= 45, "read woken by a write from another thread after %.0f ms", took);
            took = blocked_for([&] { r = px_recv(s, buf, sizeof buf, 0); }, 50, [&] { px_shutdown(c, SHUT_WR); });
            check(r == 0 && took >= 45, "recv woken by the peer's FIN: 0 after %.0f ms", took);
            px_close(c);
            px_close(s);
        }
    }
    {  // send and write: fill the buffers, time out, EAGAIN non-blocking, woken by a reader
        int c = -1, s = -1;
        if (connected_pair(port++, c, s)) {
            std::vector<char> chunk(256 * 1024, 'x');
            set_timeout(c, SO_SNDTIMEO, 100);
            long queued = 0;
            ssize_t r;
            const auto start = std::chrono::steady_clock::now();
            while ((r = px_send(c, chunk.data(), chunk.size(), 0)) == static_cast<ssize_t>(chunk.size())) queued += r;
            const int send_errno = errno;
            const double took = ms_since(start);
            if (r > 0) queued += r;
            check((r >= 0 || send_errno == EAGAIN) && took >= 95 && queued > 0,
                  "send with SO_SNDTIMEO 100 ms into a peer that does not read: stops after %.0f ms, %ld bytes queued",
                  took, queued);
            r = px_send(c, chunk.data(), chunk.size(), MSG_DONTWAIT);
            check(r == -1 && errno == EAGAIN, "send with MSG_DONTWAIT on a full buffer: EAGAIN");
            px_fcntl(c, F_SETFL, O_NONBLOCK);
            r = px_write(c, chunk.data(), chunk.size());
            check(r == -1 && errno == EAGAIN, "write on O_NONBLOCK with a full buffer: EAGAIN");
            px_fcntl(c, F_SETFL, 0);
            set_timeout(c, SO_SNDTIMEO, 0);
            // Another thread drains the receiver: the blocked write completes whole.
            long drained = 0;
            std::thread reader([&] {
                std::vector<char> sink(64 * 1024);
                set_timeout(s, SO_RCVTIMEO, 2000);  // a safety net: the FIN ends the loop
                while (true) {
                    const ssize_t n = px_recv(s, sink.data(), sink.size(), 0);
                    if (n <= 0) break;
                    drained += n;
                }
            });
            const ssize_t w = px_write(c, chunk.data(), chunk.size());
            check(w == static_cast<ssize_t>(chunk.size()), "write of 256 KiB blocked on a full buffer completes once another thread reads (%zd)", w);
            px_shutdown(c, SHUT_WR);
            reader.join();
            check(drained == queued + w, "the reader got every byte: %ld of %ld", drained, queued + w);
            px_close(c);
            px_close(s);
        }
    }
    {  // epoll_wait: timeout, woken by data, ended by close of the watched socket's epoll fd
        int c = -1, s = -1;
        if (connected_pair(port++, c, s)) {
            const int ep = px_epoll_create1(0);
            epoll_event ev{};
            ev.events = EPOLLIN;
            ev.data.fd = s;
            px_epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev);
            epoll_event out{};
            auto start = std::chrono::steady_clock::now();
            int n = px_epoll_wait(ep, &out, 1, 100);
            double took = ms_since(start);
            check(n == 0 && took >= 95, "epoll_wait 100 ms: 0 after %.0f ms", took);
            took = blocked_for([&] { n = px_epoll_wait(ep, &out, 1, -1); }, 50, [&] { px_send(c, "e", 1, 0); });
            check(n == 1 && out.data.fd == s && took >= 45, "epoll_wait(-1) woken by a send from another thread after %.0f ms", took);
            int r = 0, err = 0;
            char buf[8];
            px_recv(s, buf, sizeof buf, 0);
            took = blocked_for([&] { r = px_recv(s, buf, sizeof buf, 0); err = errno; }, 50, [&] { px_close(s); });
            check(r == -1 && err == EBADF && took >= 45, "recv ended by a close of its fd from another thread: EBADF after %.0f ms", took);
            took = blocked_for([&] { n = px_epoll_wait(ep, &out, 1, -1); err = errno; }, 50, [&] { px_close(ep); });
            check(n == -1 && err == EBADF, "epoll_wait ended by a close of the epoll fd from another thread: EBADF after %.0f ms", took);
            px_close(c);
        }
    }
}

// An epoll instance that watches a kernel eventfd and a pollux socket: a thread asleep in
// it (in the kernel) wakes for either.
void phase_kernel_fds() {
    int c = -1, s = -1;
    if (!connected_pair(kCallPort + 40, c, s)) return;
    const int ep = px_epoll_create1(0);
    const int efd = eventfd(0, EFD_NONBLOCK);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = 1;
    const bool added = px_epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev) == 0;
    ev.data.u64 = 2;
    check(added && px_epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev) == 0, "an eventfd and a socket in one pollux epoll");
    epoll_event out{};
    auto start = std::chrono::steady_clock::now();
    int n = px_epoll_wait(ep, &out, 1, 100);
    double took = ms_since(start);
    check(n == 0 && took >= 95, "epoll_wait 100 ms with a kernel fd: 0 after %.0f ms", took);
    took = blocked_for([&] { n = px_epoll_wait(ep, &out, 1, -1); }, 50, [&] { (void)eventfd_write(efd, 1); });
    check(n == 1 && out.data.u64 == 1 && took >= 45, "epoll_wait(-1) woken by the eventfd from another thread after %.0f ms", took);
    eventfd_t v;
    (void)eventfd_read(efd, &v);
    took = blocked_for([&] { n = px_epoll_wait(ep, &out, 1, -1); }, 50, [&] { px_send(c, "k", 1, 0); });
    check(n == 1 && out.data.u64 == 2 && took >= 45,
          "epoll_wait(-1) asleep in the kernel woken by a pollux socket after %.0f ms", took);
    int err = 0;
    char b;
    px_recv(s, &b, 1, 0);
    took = blocked_for([&] { n = px_epoll_wait(ep, &out, 1, -1); err = errno; }, 50, [&] { px_close(ep); });
    check(n == -1 && err == EBADF, "epoll_wait asleep in the kernel ended by a close of the epoll fd: EBADF after %.0f ms", took);
    close(efd);
    px_close(c);
    px_close(s);
}

// EPOLLEXCLUSIVE: four threads, each asleep in epoll_wait on its own instance, all watching
// one listener exclusively; one connection wakes exactly one of them. The others are
// ended by closing their epoll fds.
void phase_exclusive() {
    const int l = listen_on(kCallPort + 50, SOCK_NONBLOCK);
    constexpr int kWaiters = 4;
    std::atomic<int> woken{0};
    std::vector<std::thread> waiters;
    std::vector<int> eps;
    for (int i = 0; i < kWaiters; ++i) {
        const int ep = px_epoll_create1(0);
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLEXCLUSIVE;
        ev.data.fd = l;
        px_epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev);
        eps.push_back(ep);
    }
    for (int i = 0; i < kWaiters; ++i) {
        waiters.emplace_back([&, ep = eps[static_cast<std::size_t>(i)]] {
            epoll_event out{};
            if (px_epoll_wait(ep, &out, 1, -1) == 1) woken.fetch_add(1);
        });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const int c = px_socket(AF_INET, SOCK_STREAM, 0);
    const sockaddr_in a = loopback(kCallPort + 50);
    px_connect(c, sa(a), sizeof a);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    const int after_one = woken.load();
    for (int ep : eps) px_close(ep);
    for (std::thread& t : waiters) t.join();
    check(after_one == 1 && woken.load() == 1, "EPOLLEXCLUSIVE: one connection woke %d of %d threads asleep on the listener",
          after_one, kWaiters);
    px_close(c);
    px_close(l);
}

// Inline mode, an application loop inside px_run's callback that never returns and waits
// with timeout 0 (as app_net.h runs an application): its waits must keep the stack
// polling, or no timer ever fires. A connect to a silent host with TCP_SYNCNT 1 fails by
// its retransmission timer (about 3 s) and reports EPOLLERR.
struct ZeroTimeoutLoop {
    int ep = -1;
    std::uint32_t events = 0;
    double took_ms = 0;
};

void zero_timeout_loop(void* arg) {
    auto* z = static_cast<ZeroTimeoutLoop*>(arg);
    const auto start = std::chrono::steady_clock::now();
    epoll_event ev{};
    while (ms_since(start) < 10000) {
        if (px_epoll_wait(z->ep, &ev, 1, 0) == 1) {
            z->events = ev.events;
            break;
        }
    }
    z->took_ms = ms_since(start);
    px_stop();
}

void phase_zero_timeout_inline() {
    const int c = px_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    const int one_retry = 1;
    px_setsockopt(c, IPPROTO_TCP, TCP_SYNCNT, &one_retry, sizeof one_retry);
    sockaddr_in silent = loopback(80);
    inet_pton(AF_INET, "198.18.0.99", &silent.sin_addr);
    px_connect(c, sa(silent), sizeof silent);
    ZeroTimeoutLoop z;
    z.ep = px_epoll_create1(0);
    epoll_event ev{};
    ev.events = EPOLLOUT;
    px_epoll_ctl(z.ep, EPOLL_CTL_ADD, c, &ev);
    px_run(zero_timeout_loop, &z);
    check((z.events & EPOLLERR) != 0, "inline, epoll_wait(0) in a callback that never returns keeps the timers running: "
          "the connect failed after %.0f ms (events 0x%x)", z.took_ms, z.events);
    px_close(z.ep);
    px_close(c);
}

}  // namespace

int main(int argc, char** argv) {
    const int n = px_init(argc, argv);
    if (n < 0) return 1;
    check(px_socket(AF_INET, SOCK_STREAM, 0) >= 0, "a call on px_init's thread before threaded mode");
    {
        int r = 0, err = 0;
        std::thread t([&] {
            r = px_socket(AF_INET, SOCK_STREAM, 0);
            err = errno;
        });
        t.join();
        check(r == -1 && err == EOPNOTSUPP, "a call from another thread before px_enable_threads: EOPNOTSUPP");
    }
    phase_zero_timeout_inline();
    check(px_enable_threads() == 0, "px_enable_threads");
    {
        int r = 0, err = 0;
        std::thread t([&] {
            r = px_enable_threads();
            err = errno;
        });
        t.join();
        check(r == -1 && err == EOPNOTSUPP, "px_enable_threads from another thread: EOPNOTSUPP");
    }

    std::vector<std::thread> servers;
    std::atomic<long> echoed{0};
    int blocked_result = 0, blocked_errno = 0;
    std::thread driver([&] {
        phase_echo(servers, echoed);
        phase_calls();
        phase_kernel_fds();
        phase_exclusive();
        // px_stop ends the loop: the echo servers asleep in epoll_wait and a recv asleep
        // on an idle connection return EINTR.
        int c = -1, s = -1;
        if (connected_pair(kCallPort + 60, c, s)) {
            std::thread blocked([&] {
                char b;
                blocked_result = static_cast<int>(px_recv(s, &b, 1, 0));
                blocked_errno = errno;
            });
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
            px_stop();
            blocked.join();
        }
    });
    px_run(nullptr, nullptr);
    driver.join();
    for (std::thread& t : servers) t.join();
    check(blocked_result == -1 && blocked_errno == EINTR, "px_stop wakes a recv blocked in another thread: EINTR");
    check(echoed.load() > 0, "the servers echoed %ld bytes", echoed.load());
    px_fini();
    const int failures = g_failures.load();
    std::printf("%s: %d failed\n", failures == 0 ? "PASS" : "FAIL", failures);
    return failures == 0 ? 0 : 1;
}
