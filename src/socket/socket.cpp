#include "socket/socket.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>

namespace pollux::socket {

namespace {

// x86-64 numbers of the timeout options: the glibc names map to the _OLD ones when time_t
// is 64-bit; the _NEW ones (y2038 ABI) take the same 16-byte layout there.
constexpr int kRcvtimeoOld = 20;
constexpr int kSndtimeoOld = 21;
constexpr int kRcvtimeoNew = 66;
constexpr int kSndtimeoNew = 67;

int read_int(std::span<const std::uint8_t> value) noexcept {
    int v = 0;
    std::memcpy(&v, value.data(), sizeof v);
    return v;
}

// sock_getsockopt's tail: at most `len` bytes of the value, and `len` becomes what was written.
void write_out(const void* v, std::size_t size, std::span<std::uint8_t> out, std::size_t& len) noexcept {
    len = std::min({len, size, out.size()});
    std::memcpy(out.data(), v, len);
}

void write_int(int v, std::span<std::uint8_t> out, std::size_t& len) noexcept { write_out(&v, sizeof v, out, len); }

// __sock_set_rcvbuf / sock_setsockopt(SO_SNDBUF): the request is clamped to the sysctl
// maximum as an unsigned value (so a negative one means "the maximum"), doubled for the
// kernel's bookkeeping overhead, and never below the floor.
int buffer_size(int requested, int max, int floor) noexcept {
    const auto clamped = std::min(static_cast<unsigned>(requested), static_cast<unsigned>(max));
    const int v = static_cast<int>(std::min(clamped, static_cast<unsigned>(INT_MAX / 2)));
    return std::max(v * 2, floor);
}

// sock_set_timeout(): tv_usec outside [0, 1e6) is EDOM; a negative tv_sec means "do not
// wait at all"; {0, 0} means "forever".
int set_timeout(std::span<const std::uint8_t> value, time::Duration& timeout, bool& immediate) noexcept {
    timeval tv{};
    if (value.size() < sizeof tv) return -EINVAL;
    std::memcpy(&tv, value.data(), sizeof tv);
    if (tv.tv_usec < 0 || tv.tv_usec >= 1'000'000) return -EDOM;
    immediate = tv.tv_sec < 0;
    timeout = immediate ? time::Duration::zero()
                        : time::Duration::from_us(std::min<std::int64_t>(tv.tv_sec, INT_MAX) * 1'000'000 + tv.tv_usec);
    return 0;
}

void get_timeout(time::Duration timeout, std::span<std::uint8_t> out, std::size_t& len) noexcept {
    timeval tv{};
    tv.tv_sec = timeout.us() / 1'000'000;
    tv.tv_usec = timeout.us() % 1'000'000;
    write_out(&tv, sizeof tv, out, len);
}

}  // namespace

int Socket::setsockopt(int level, int name, std::span<const std::uint8_t> value) noexcept {
    switch (level) {
        case SOL_SOCKET:
            return set_socket_option(name, value);
        case IPPROTO_IP:
            return set_ip_option(name, value);
        default:
            return protocol_setsockopt(level, name, value);
    }
}

int Socket::getsockopt(int level, int name, std::span<std::uint8_t> out, std::size_t& len) noexcept {
    switch (level) {
        case SOL_SOCKET:
            return get_socket_option(name, out, len);
        case IPPROTO_IP:
            return get_ip_option(name, out, len);
        default:
            return protocol_getsockopt(level, name, out, len);
    }
}

int Socket::shutdown_datagram(int how, bool connected) noexcept {
    if (how < SHUT_RD || how > SHUT_RDWR) return -EINVAL;
    add_shutdown(static_cast<std::uint8_t>(how + 1));  // SHUT_RD=0 -> RCV (1), SHUT_WR -> SEND (2), RDWR -> 3
    return connected ? 0 : -ENOTCONN;
}

int Socket::protocol_setsockopt(int, int, std::span<const std::uint8_t>) noexcept { return -ENOPROTOOPT; }

int Socket::protocol_getsockopt(int, int, std::span<std::uint8_t>, std::size_t&) noexcept { return -EOPNOTSUPP; }

// sock_setsockopt(): every option takes at least an int, checked before the name.
int Socket::set_socket_option(int name, std::span<const std::uint8_t> value) noexcept {
    if (value.size() < sizeof(int)) return -EINVAL;
    const int v = read_int(value);
    switch (name) {
        case SO_REUSEADDR:
            options_.reuse_addr = v != 0;
            options_changed();
            return 0;
        case SO_REUSEPORT:
            options_.reuse_port = v != 0;
            options_changed();
            return 0;
        case SO_BROADCAST:
            options_.broadcast = v != 0;
            return 0;
        case SO_KEEPALIVE:
            options_.keepalive = v != 0;
            keepalive_changed();
            return 0;
        case SO_LINGER: {
            linger l{};
            if (value.size() < sizeof l) return -EINVAL;
            std::memcpy(&l, value.data(), sizeof l);
            options_.linger = l.l_onoff != 0;
            if (options_.linger) options_.linger_seconds = l.l_linger;
            return 0;
        }
        case SO_RCVBUF:
            options_.rcvbuf = buffer_size(v, kMaxRcvbuf, kMinRcvbuf);
            return 0;
        case SO_SNDBUF:
            options_.sndbuf = buffer_size(v, kMaxSndbuf, kMinSndbuf);
            return 0;
        case kRcvtimeoOld:
        case kRcvtimeoNew:
            return set_timeout(value, options_.rcvtimeo, options_.rcvtimeo_immediate);
        case kSndtimeoOld:
        case kSndtimeoNew:
            return set_timeout(value, options_.sndtimeo, options_.sndtimeo_immediate);
        default:
            // Read-only options (SO_TYPE, SO_ERROR, ...) and the ones pollux lacks.
            return -ENOPROTOOPT;
    }
}

int Socket::get_socket_option(int name, std::span<std::uint8_t> out, std::size_t& len) noexcept {
    switch (name) {
        case SO_REUSEADDR:
            write_int(options_.reuse_addr ? 1 : 0, out, len);
            return 0;
        case SO_REUSEPORT:
            write_int(options_.reuse_port ? 1 : 0, out, len);
            return 0;
        case SO_BROADCAST:
            write_int(options_.broadcast ? 1 : 0, out, len);
            return 0;
        case SO_KEEPALIVE:
            write_int(options_.keepalive ? 1 : 0, out, len);
            return 0;
        case SO_LINGER: {
            const linger l{options_.linger ? 1 : 0, options_.linger_seconds};
            write_out(&l, sizeof l, out, len);
            return 0;
        }
        case SO_RCVBUF:
            write_int(options_.rcvbuf, out, len);
            return 0;
        case SO_SNDBUF:
            write_int(options_.sndbuf, out, len);
            return 0;
        case SO_ERROR: {
            int e = -take_pending_error();
            if (e == 0) e = take_protocol_error();
            write_int(e, out, len);
            return 0;
        }
        case SO_TYPE:
            write_int(type_, out, len);
            return 0;
        case SO_DOMAIN:
            write_int(AF_INET, out, len);
            return 0;
        case SO_PROTOCOL:
            write_int(protocol_, out, len);
            return 0;
        case SO_ACCEPTCONN:
            write_int(accepting() ? 1 : 0, out, len);
            return 0;
        case kRcvtimeoOld:
        case kRcvtimeoNew:
            get_timeout(options_.rcvtimeo, out, len);
            return 0;
        case kSndtimeoOld:
        case kSndtimeoNew:
            get_timeout(options_.sndtimeo, out, len);
            return 0;
        default:
            return -ENOPROTOOPT;
    }
}

// do_ip_setsockopt(): the int options also accept a single byte; a missing value reads as 0.
int Socket::set_ip_option(int name, std::span<const std::uint8_t> value) noexcept {
    int v = 0;
    if (value.size() >= sizeof(int)) {
        v = read_int(value);
    } else if (!value.empty()) {
        v = value[0];
    }
    switch (name) {
        case IP_TTL:
            if (value.empty() || (v != -1 && (v < 1 || v > 255))) return -EINVAL;
            options_.ttl = v;
            return 0;
        case IP_TOS:
            options_.tos = static_cast<std::uint8_t>(v);  // Linux keeps the low byte
            return 0;
        case IP_HDRINCL:
            if (type_ != SOCK_RAW) return -ENOPROTOOPT;
            if (value.empty()) return -EINVAL;
            options_.hdrincl = v != 0;
            return 0;
        default:
            return -ENOPROTOOPT;
    }
}

// do_ip_getsockopt(): a buffer shorter than an int gets one byte when the value fits.
int Socket::get_ip_option(int name, std::span<std::uint8_t> out, std::size_t& len) noexcept {
    int v = 0;
    switch (name) {
        case IP_TTL:
            v = options_.ttl == -1 ? 64 : options_.ttl;
            break;
        case IP_TOS:
            v = options_.tos;
            break;
        case IP_HDRINCL:
            if (type_ != SOCK_RAW) return -ENOPROTOOPT;
            v = options_.hdrincl ? 1 : 0;
            break;
        case IP_MTU:
            v = path_mtu();
            if (v < 0) return v;
            break;
        default:
            return -ENOPROTOOPT;
    }
    if (len < sizeof(int) && len > 0 && v >= 0 && v <= 255) {
        const auto byte = static_cast<std::uint8_t>(v);
        write_out(&byte, 1, out, len);
    } else {
        write_int(v, out, len);
    }
    return 0;
}

}  // namespace pollux::socket
