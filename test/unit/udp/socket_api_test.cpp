// The C socket API on a shard attached by the test (runtime::attach_api), on virtual time:
// fd numbers, errno for misuse, the owner-thread rule, and loopback traffic. The
// kernel-vs-pollux comparison of the same calls is test/semantics.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <netinet/tcp.h>
#include <netinet/in.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "pollux/socket.h"
#include "runtime/api_context.hpp"
#include "socket/fd_table.hpp"
#include "udp/udp_socket.hpp"
#include "unit/runtime/two_shards.hpp"

using namespace pollux::test::two_shards;

namespace {

// Attaches shard B of a fresh Sim to the API for the test's duration.
struct ApiSim {
    ApiSim() {
        sim.run(Duration::from_ms(10));
        pollux::runtime::attach_api(sim.b);
    }
    ~ApiSim() { pollux::runtime::detach_api(); }
    Sim sim;
};

sockaddr_in in4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d, std::uint16_t port) {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    const std::uint8_t addr[4] = {a, b, c, d};
    std::memcpy(&sa.sin_addr.s_addr, addr, 4);
    sa.sin_port = static_cast<in_port_t>((port >> 8) | ((port & 0xff) << 8));  // test-side byte swap
    return sa;
}

const sockaddr* sa(const sockaddr_in& s) { return reinterpret_cast<const sockaddr*>(&s); }

// -1 and this errno, or the call succeeded with errno 0.
int err_of(long r) { return r == -1 ? errno : 0; }

}  // namespace

TEST_CASE("px_socket: fds above the kernel's range, lowest free first, EBADF after close", "[api]") {
    ApiSim t;
    const int a = px_socket(AF_INET, SOCK_DGRAM, 0);
    const int b = px_socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, IPPROTO_UDP);
    REQUIRE(a >= pollux::socket::kFdBase);
    CHECK(b == a + 1);
    CHECK(px_is_fd(a) == 1);
    CHECK(px_is_fd(0) == 0);
    CHECK(px_close(a) == 0);
    CHECK(err_of(px_close(a)) == EBADF);
    char c = 0;
    CHECK(err_of(px_send(a, &c, 1, 0)) == EBADF);
    const int again = px_socket(AF_INET, SOCK_DGRAM, 0);
    CHECK(again == a);  // the number is reused, like the kernel's lowest-free rule
    CHECK(err_of(px_close(-1)) == EBADF);
    CHECK(err_of(px_recv(0, &c, 1, MSG_DONTWAIT)) == EBADF);  // a kernel fd is not ours
}

TEST_CASE("px_socket: Linux's errno for unsupported domains, types, protocols and flags", "[api]") {
    ApiSim t;
    CHECK(err_of(px_socket(AF_INET6, SOCK_DGRAM, 0)) == EAFNOSUPPORT);
    CHECK(err_of(px_socket(AF_INET, SOCK_DGRAM, IPPROTO_TCP)) == EPROTONOSUPPORT);
    CHECK(err_of(px_socket(AF_INET, SOCK_SEQPACKET, 0)) == ESOCKTNOSUPPORT);
    CHECK(err_of(px_socket(AF_INET, 12, 0)) == EINVAL);  // above SOCK_MAX
    CHECK(err_of(px_socket(AF_INET, SOCK_DGRAM | 0x100, 0)) == EINVAL);
    CHECK(err_of(px_socket(AF_INET, SOCK_DGRAM, 263)) == EINVAL);  // IPPROTO_MAX
    CHECK(err_of(px_socket(AF_INET, SOCK_DGRAM, 262)) == EPROTONOSUPPORT);
    CHECK(err_of(px_socket(AF_INET, SOCK_RAW, 0)) == EPROTONOSUPPORT);
    const int raw = px_socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
    CHECK(raw >= pollux::socket::kFdBase);
    CHECK(px_close(raw) == 0);
}

TEST_CASE("px_* from a thread other than the owner fail with EOPNOTSUPP", "[api]") {
    ApiSim t;
    const int fd = px_socket(AF_INET, SOCK_DGRAM, 0);
    int socket_err = 0;
    int send_err = 0;
    std::thread other([&] {
        socket_err = err_of(px_socket(AF_INET, SOCK_DGRAM, 0));
        char c = 0;
        send_err = err_of(px_send(fd, &c, 1, 0));
    });
    other.join();
    CHECK(socket_err == EOPNOTSUPP);
    CHECK(send_err == EOPNOTSUPP);
}

TEST_CASE("px_sendto/px_recvfrom over loopback and to the peer shard", "[api]") {
    ApiSim t;
    const int server = px_socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    const int client = px_socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    const sockaddr_in lo = in4(127, 0, 0, 1, 7000);
    REQUIRE(px_bind(server, sa(lo), sizeof lo) == 0);
    const char msg[] = "hello";
    REQUIRE(px_sendto(client, msg, 5, 0, sa(lo), sizeof lo) == 5);
    char buf[16] = {};
    sockaddr_in from{};
    socklen_t len = sizeof from;
    // Loopback is delivered before sendto returns, as Linux's lo does.
    REQUIRE(px_recvfrom(server, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len) == 5);
    CHECK(std::memcmp(buf, msg, 5) == 0);
    CHECK(len == sizeof(sockaddr_in));
    sockaddr_in client_name{};
    socklen_t client_len = sizeof client_name;
    REQUIRE(px_getsockname(client, reinterpret_cast<sockaddr*>(&client_name), &client_len) == 0);
    CHECK(from.sin_port == client_name.sin_port);
    CHECK(std::memcmp(&from.sin_addr, &lo.sin_addr, 4) == 0);
    CHECK(err_of(px_recv(server, buf, sizeof buf, 0)) == EAGAIN);

    // To shard A over the link: the datagram leaves through the port.
    auto remote = t.sim.a.udp().create_socket();
    REQUIRE(remote->bind({Ipv4Address::any(), pollux::wire::Port(9000)}) == 0);
    const sockaddr_in peer = in4(198, 18, 0, 1, 9000);
    REQUIRE(px_sendto(client, msg, 5, 0, sa(peer), sizeof peer) == 5);
    t.sim.run(Duration::from_ms(5));
    CHECK(remote->queued_datagrams() == 1);
}

TEST_CASE("px_bind/px_connect argument errors", "[api]") {
    ApiSim t;
    const int fd = px_socket(AF_INET, SOCK_DGRAM, 0);
    const sockaddr_in any = in4(0, 0, 0, 0, 7100);
    CHECK(err_of(px_bind(fd, sa(any), sizeof any - 1)) == EINVAL);
    CHECK(err_of(px_bind(fd, nullptr, sizeof any)) == EFAULT);
    CHECK(err_of(px_bind(fd, sa(any), 129)) == EINVAL);
    sockaddr_in six = any;
    six.sin_family = AF_INET6;
    CHECK(err_of(px_bind(fd, sa(six), sizeof six)) == EAFNOSUPPORT);
    const sockaddr_in foreign = in4(198, 19, 255, 1, 7100);
    CHECK(err_of(px_bind(fd, sa(foreign), sizeof foreign)) == EADDRNOTAVAIL);
    REQUIRE(px_bind(fd, sa(any), sizeof any) == 0);
    CHECK(err_of(px_bind(fd, sa(any), sizeof any)) == EINVAL);
    const int other = px_socket(AF_INET, SOCK_DGRAM, 0);
    CHECK(err_of(px_bind(other, sa(any), sizeof any)) == EADDRINUSE);
    CHECK(err_of(px_connect(other, sa(any), 1)) == EINVAL);
    sockaddr_in peer{};
    socklen_t len = sizeof peer;
    CHECK(err_of(px_getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len)) == ENOTCONN);
    const sockaddr_in unreachable = in4(198, 19, 0, 1, 7);
    CHECK(err_of(px_connect(fd, sa(unreachable), sizeof unreachable)) == ENETUNREACH);
}

TEST_CASE("px_fcntl, px_ioctl and px_getsockopt pointer and value rules", "[api]") {
    ApiSim t;
    const int fd = px_socket(AF_INET, SOCK_DGRAM, 0);
    CHECK(px_fcntl(fd, F_GETFL) == O_RDWR);
    CHECK(px_fcntl(fd, F_SETFL, O_NONBLOCK) == 0);
    CHECK(px_fcntl(fd, F_GETFL) == (O_RDWR | O_NONBLOCK));
    char c = 0;
    CHECK(err_of(px_recv(fd, &c, 1, 0)) == EAGAIN);
    CHECK(err_of(px_fcntl(fd, F_DUPFD, 0)) == EINVAL);
    int off = 0;
    CHECK(px_ioctl(fd, FIONBIO, &off) == 0);
    CHECK(px_fcntl(fd, F_GETFL) == O_RDWR);
    int n = -1;
    CHECK(px_ioctl(fd, FIONREAD, &n) == 0);
    CHECK(n == 0);
    CHECK(err_of(px_ioctl(fd, FIONREAD, nullptr)) == EFAULT);
    CHECK(err_of(px_ioctl(fd, 0x5401 /* TCGETS */, &n)) == ENOTTY);

    int v = 0;
    socklen_t len = sizeof v;
    CHECK(err_of(px_getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, nullptr)) == EFAULT);
    REQUIRE(px_getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &v, &len) == 0);
    CHECK(v == IPPROTO_UDP);
    CHECK(err_of(px_setsockopt(fd, SOL_SOCKET, SO_RCVBUF, nullptr, sizeof v)) == EFAULT);
    CHECK(err_of(px_setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, 2)) == EINVAL);
    CHECK(err_of(px_setsockopt(fd, SOL_SOCKET, 9999, &v, sizeof v)) == ENOPROTOOPT);
    CHECK(err_of(px_getsockopt(fd, 9999, 1, &v, &len)) == EOPNOTSUPP);
    CHECK(err_of(px_getsockopt(fd, IPPROTO_UDP, 1, &v, &len)) == ENOPROTOOPT);
    // A negative SO_RCVTIMEO means "never wait": a blocking recv returns EAGAIN at once.
    const timeval never{-1, 0};
    REQUIRE(px_setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &never, sizeof never) == 0);
    CHECK(err_of(px_recv(fd, &c, 1, 0)) == EAGAIN);
}

TEST_CASE("detaching the API closes every socket and frees its queue", "[api]") {
    const unsigned before = pool_in_use();
    {
        ApiSim t;
        const int fd = px_socket(AF_INET, SOCK_DGRAM, 0);
        const sockaddr_in lo = in4(127, 0, 0, 1, 7200);
        REQUIRE(px_bind(fd, sa(lo), sizeof lo) == 0);
        char payload[100] = {};
        for (int i = 0; i < 10; ++i) REQUIRE(px_sendto(fd, payload, sizeof payload, 0, sa(lo), sizeof lo) == 100);
        int n = 0;
        REQUIRE(px_ioctl(fd, FIONREAD, &n) == 0);
        CHECK(n == 100);
    }
    CHECK(pool_in_use() == before);
    char c = 0;
    CHECK(err_of(px_send(pollux::socket::kFdBase, &c, 1, 0)) == EBADF);
}

TEST_CASE("TCP through the C API over loopback: listen, connect, accept, echo, close", "[api][tcp]") {
    const unsigned before = pool_in_use();
    {
        ApiSim t;
        const int l = px_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        const sockaddr_in addr = in4(127, 0, 0, 1, 8000);
        REQUIRE(px_bind(l, sa(addr), sizeof addr) == 0);
        REQUIRE(px_listen(l, 8) == 0);
        int v = 0;
        socklen_t len = sizeof v;
        REQUIRE(px_getsockopt(l, SOL_SOCKET, SO_ACCEPTCONN, &v, &len) == 0);
        CHECK(v == 1);
        char c = 0;
        CHECK(err_of(px_send(l, &c, 1, MSG_NOSIGNAL)) == EPIPE);
        CHECK(err_of(px_recv(l, &c, 1, 0)) == ENOTCONN);

        const int cl = px_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        CHECK(err_of(px_connect(cl, sa(addr), sizeof addr)) == EINPROGRESS);
        // The loopback handshake completed before connect returned (Linux's lo does too):
        // connecting again reports its outcome once, then EISCONN (__inet_stream_connect).
        CHECK(err_of(px_connect(cl, sa(addr), sizeof addr)) == 0);
        CHECK(err_of(px_connect(cl, sa(addr), sizeof addr)) == EISCONN);
        sockaddr_in peer{};
        socklen_t plen = sizeof peer;
        const int srv = px_accept4(l, reinterpret_cast<sockaddr*>(&peer), &plen, SOCK_NONBLOCK);
        REQUIRE(srv >= pollux::socket::kFdBase);
        v = -1;
        len = sizeof v;
        REQUIRE(px_getsockopt(cl, SOL_SOCKET, SO_ERROR, &v, &len) == 0);
        CHECK(v == 0);
        CHECK(err_of(px_accept4(l, nullptr, nullptr, SOCK_NONBLOCK)) == EAGAIN);
        const int one = 1;
        REQUIRE(px_setsockopt(cl, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0);

        const char msg[] = "hello, tcp";
        REQUIRE(px_send(cl, msg, sizeof msg, 0) == static_cast<ssize_t>(sizeof msg));
        char buf[64] = {};
        REQUIRE(px_recv(srv, buf, sizeof buf, 0) == static_cast<ssize_t>(sizeof msg));
        CHECK(std::memcmp(buf, msg, sizeof msg) == 0);
        CHECK(err_of(px_recv(srv, buf, sizeof buf, 0)) == EAGAIN);
        REQUIRE(px_close(cl) == 0);
        CHECK(px_recv(srv, buf, sizeof buf, 0) == 0);  // the FIN: end of stream
        REQUIRE(px_close(srv) == 0);
        REQUIRE(px_close(l) == 0);
        // The client end waits in TIME-WAIT as an orphan; nothing leaks when the stack goes.
    }
    CHECK(pool_in_use() == before);
}
