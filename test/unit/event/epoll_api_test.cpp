// px_epoll_* on a harness (pollux/harness.h): the API's fd handling and the inline wait,
// over UDP and TCP on 127.0.0.1, which the stack delivers within the sending call.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "api/sockets.hpp"
#include "pollux/epoll.h"
#include "pollux/harness.h"
#include "pollux/socket.h"

namespace {

struct Harness {
    px_harness* h = nullptr;
    Harness() {
        px_harness_config c{};
        c.address = "198.18.0.2/24";
        h = px_harness_create(&c);
        REQUIRE(h != nullptr);
    }
    ~Harness() { px_harness_destroy(h); }
};

sockaddr_in loopback(int port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

int udp_bound(int port) {
    const int fd = px_socket(AF_INET, SOCK_DGRAM, 0);
    REQUIRE(fd >= 0);
    const sockaddr_in a = loopback(port);
    REQUIRE(px_bind(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0);
    return fd;
}

void send_to(int fd, int port) {
    const sockaddr_in a = loopback(port);
    REQUIRE(px_sendto(fd, "x", 1, 0, reinterpret_cast<const sockaddr*>(&a), sizeof a) == 1);
}

int add(int ep, int fd, std::uint32_t events, std::uint64_t tag) {
    epoll_event e{};
    e.events = events;
    e.data.u64 = tag;
    return px_epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
}

std::size_t watchers_of(int fd) {
    int err = 0;
    pollux::socket::Socket* s = pollux::api::lookup(fd, err);
    REQUIRE(s != nullptr);
    return s->watchers().size();
}

}  // namespace

TEST_CASE("on a harness every timeout acts as zero: an empty wait returns at once") {
    Harness h;
    const int ep = px_epoll_create1(0);
    REQUIRE(ep >= 0);
    const int r = udp_bound(7000);
    REQUIRE(add(ep, r, EPOLLIN, 1) == 0);
    epoll_event ev[4];
    CHECK(px_epoll_wait(ep, ev, 4, -1) == 0);
    CHECK(px_epoll_wait(ep, ev, 4, 1000) == 0);
    const int s = udp_bound(7001);
    send_to(s, 7000);
    REQUIRE(px_epoll_wait(ep, ev, 4, -1) == 1);
    CHECK(ev[0].events == EPOLLIN);
    CHECK(ev[0].data.u64 == 1);
    CHECK(px_close(ep) == 0);
    CHECK(px_close(r) == 0);
    CHECK(px_close(s) == 0);
}

TEST_CASE("closing a socket removes it from every instance; closing an instance frees its items") {
    Harness h;
    const int e1 = px_epoll_create1(0);
    const int e2 = px_epoll_create1(EPOLL_CLOEXEC);
    REQUIRE(e1 >= 0);
    REQUIRE(e2 >= 0);
    CHECK(px_fcntl(e2, F_GETFD) == FD_CLOEXEC);
    const int r = udp_bound(7002);
    const int keep = udp_bound(7003);
    REQUIRE(add(e1, r, EPOLLIN, 1) == 0);
    REQUIRE(add(e2, r, EPOLLIN, 2) == 0);
    REQUIRE(add(e2, keep, EPOLLIN, 3) == 0);
    CHECK(watchers_of(r) == 2);
    send_to(keep, 7002);
    CHECK(px_close(r) == 0);
    epoll_event ev[4];
    CHECK(px_epoll_wait(e1, ev, 4, 0) == 0);
    CHECK(px_epoll_wait(e2, ev, 4, 0) == 0);
    errno = 0;
    CHECK(px_epoll_ctl(e1, EPOLL_CTL_DEL, r, nullptr) == -1);
    CHECK(errno == EBADF);
    CHECK(watchers_of(keep) == 1);
    CHECK(px_close(e2) == 0);
    CHECK(watchers_of(keep) == 0);
    errno = 0;
    CHECK(px_epoll_wait(e2, ev, 4, 0) == -1);
    CHECK(errno == EBADF);
    CHECK(px_close(keep) == 0);
    CHECK(px_close(e1) == 0);
}

TEST_CASE("ctl of a kernel fd goes to the kernel (EBADF, EPERM for /dev/null, a pipe is fine); instances nest") {
    Harness h;
    const int ep = px_epoll_create1(0);
    epoll_event e{};
    e.events = EPOLLIN;
    errno = 0;
    CHECK(px_epoll_ctl(ep, EPOLL_CTL_ADD, 0x3fff0000, &e) == -1);  // below pollux's range, not open
    CHECK(errno == EBADF);
    const int devnull = ::open("/dev/null", O_RDONLY);
    REQUIRE(devnull >= 0);
    errno = 0;
    CHECK(px_epoll_ctl(ep, EPOLL_CTL_ADD, devnull, &e) == -1);
    CHECK(errno == EPERM);
    ::close(devnull);
    int pipe_fds[2];
    REQUIRE(::pipe(pipe_fds) == 0);
    CHECK(px_epoll_ctl(ep, EPOLL_CTL_ADD, pipe_fds[0], &e) == 0);
    errno = 0;
    CHECK(px_epoll_ctl(ep, EPOLL_CTL_ADD, pipe_fds[0], &e) == -1);
    CHECK(errno == EEXIST);
    CHECK(::write(pipe_fds[1], "p", 1) == 1);
    epoll_event out{};
    CHECK(px_epoll_wait(ep, &out, 1, 0) == 1);
    CHECK(out.events == EPOLLIN);
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    const int other = px_epoll_create1(0);
    CHECK(px_epoll_ctl(ep, EPOLL_CTL_ADD, other, &e) == 0);  // nesting
    errno = 0;
    CHECK(px_epoll_ctl(other, EPOLL_CTL_ADD, ep, &e) == -1);  // and back: a loop
    CHECK(errno == ELOOP);
    errno = 0;
    CHECK(px_send(ep, "x", 1, 0) == -1);
    CHECK(errno == ENOTSOCK);
    CHECK(px_close(other) == 0);
    CHECK(px_close(ep) == 0);
}

TEST_CASE("tcp on loopback: listener readiness, connect, edge-triggered data, and the peer's FIN") {
    Harness h;
    const int ep = px_epoll_create1(0);
    const int l = px_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    const sockaddr_in a = loopback(7010);
    REQUIRE(px_bind(l, reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(px_listen(l, 4) == 0);
    REQUIRE(add(ep, l, EPOLLIN, 1) == 0);
    epoll_event ev[4];
    CHECK(px_epoll_wait(ep, ev, 4, 0) == 0);
    const int c = px_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    REQUIRE(add(ep, c, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, 2) == 0);
    REQUIRE(px_epoll_wait(ep, ev, 4, 0) == 1);  // unconnected: tcp_poll's OUT | HUP
    CHECK(ev[0].events == (EPOLLOUT | EPOLLHUP));
    CHECK(px_connect(c, reinterpret_cast<const sockaddr*>(&a), sizeof a) == -1);
    CHECK(errno == EINPROGRESS);
    REQUIRE(px_epoll_wait(ep, ev, 4, 0) == 2);
    CHECK(ev[0].data.u64 == 2);  // the client's handshake finished first
    CHECK(ev[0].events == EPOLLOUT);
    CHECK(ev[1].data.u64 == 1);
    CHECK(ev[1].events == EPOLLIN);
    const int s = px_accept4(l, nullptr, nullptr, SOCK_NONBLOCK);
    REQUIRE(s >= 0);
    CHECK(px_epoll_wait(ep, ev, 4, 0) == 0);  // the listener's queue is empty again
    REQUIRE(add(ep, s, EPOLLIN | EPOLLET, 3) == 0);
    REQUIRE(px_send(c, "hello", 5, 0) == 5);
    REQUIRE(px_epoll_wait(ep, ev, 4, 0) == 1);
    CHECK(ev[0].data.u64 == 3);
    char buf[8];
    CHECK(px_recv(s, buf, 2, 0) == 2);
    CHECK(px_epoll_wait(ep, ev, 4, 0) == 0);  // ET: nothing new
    REQUIRE(px_shutdown(s, SHUT_WR) == 0);  // the FIN crosses loopback within the call
    REQUIRE(px_epoll_wait(ep, ev, 4, -1) == 1);  // the client sees it
    CHECK(ev[0].data.u64 == 2);
    CHECK(ev[0].events == (EPOLLIN | EPOLLOUT | EPOLLRDHUP));
    CHECK(px_close(c) == 0);
    CHECK(px_close(s) == 0);
    CHECK(px_close(l) == 0);
    CHECK(px_close(ep) == 0);
}

TEST_CASE("lookup_socket: an epoll fd is not a socket; lookup takes it") {
    Harness h;
    const int ep = px_epoll_create1(0);
    const int u = udp_bound(7020);
    int err = 0;
    CHECK(pollux::api::lookup_socket(ep, err) == nullptr);
    CHECK(err == ENOTSOCK);
    CHECK(pollux::api::lookup(ep, err) != nullptr);
    CHECK(pollux::api::lookup_socket(u, err) != nullptr);
    CHECK(px_close(u) == 0);
    CHECK(px_close(ep) == 0);
}
