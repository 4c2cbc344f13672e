// httpd: an HTTP/1.1 server with keep-alive and pipelining, on pollux or on the kernel.
//
//   build/examples/httpd --no-pci --vdev=net_tap0,iface=pxt0 -- --ip 198.18.0.2/24 [--http-port 80]
//   build/examples/httpd-kernel -- --ip 127.0.0.1/8 --http-port 8080      (same source, Linux sockets)
//
// Routes:
//   GET /          a small HTML page
//   GET /bytes/N   N bytes, byte i being i % 251 (a prime, so the pattern never lines up
//                  with a power-of-two buffer and a misplaced chunk shows); generated as
//                  it is sent, never held whole
//   POST /sink     reads a body of any size (Content-Length or chunked) and answers
//                  "<length> <crc32>\n", the CRC-32 as zlib's crc32() computes it, in 8
//                  lowercase hex digits
//   GET /stats     counters as JSON: this server's, and on pollux the stack's
//                  (stack_stats.hpp)
// HEAD is accepted wherever GET is. Other paths answer 404, other methods on a known path
// 405 (with Allow), a request Beast cannot parse or a bad N 400, and then the connection
// closes. "Connection: close" (and HTTP/1.0 without keep-alive) closes after the response.
//
// Requests are parsed by Boost.Beast's basic_parser (request_parser.hpp) straight from the
// connection's input buffer. Pipelining: requests are answered in order; the next one is
// parsed only when the previous response is entirely sent, so a connection holds at most
// its input buffer, its output buffer and its parser: bounded memory, whatever it sends.
//
// One epoll loop (examples/common/app_net.h), level-triggered: a connection waits for
// EPOLLIN while it has nothing to send and for EPOLLOUT while a response is blocked on a
// full send buffer; each turn is bounded (TURN_STEPS) so no connection starves the others.
#include "app_net.h"

#include <array>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "request_parser.hpp"
#include "stack_stats.hpp"

namespace httpd {
namespace {

constexpr int default_port = 80;
constexpr int listen_backlog = 1024;
constexpr std::size_t default_max_connections = 4096;
// The input buffer holds a whole request head (Beast's header limit) and then some, so
// a head split over many segments still parses.
constexpr std::size_t in_buffer_size = 16384;
static_assert(in_buffer_size > RequestParser::header_bytes_limit);
constexpr std::size_t out_buffer_size = 16384;
constexpr int turn_steps = 64;
constexpr int epoll_batch = 256;
constexpr std::uint64_t listener_tag = ~std::uint64_t{0};
constexpr unsigned pattern_period = 251;
constexpr std::size_t linger_drain_limit = 1 << 20;

constexpr std::string_view index_page =
    "<!doctype html>\n<html><head><title>pollux httpd</title></head><body>\n"
    "<h1>pollux httpd</h1>\n"
    "<p>Routes: <a href=\"/bytes/1024\">GET /bytes/N</a> (N bytes, byte i = i % 251), "
    "POST /sink (answers length and CRC-32 of the body), <a href=\"/stats\">GET /stats</a>.</p>\n"
    "</body></html>\n";

struct Counters {
    std::uint64_t accepted = 0;
    std::uint64_t refused = 0;  // accepted while the connection table was full, closed
    std::uint64_t closed = 0;
    std::uint64_t requests = 0;
    std::uint64_t status_2xx = 0;
    std::uint64_t status_400 = 0;
    std::uint64_t status_404 = 0;
    std::uint64_t status_405 = 0;
    std::uint64_t bytes_received = 0;
    std::uint64_t bytes_sent = 0;
    std::uint64_t sink_bytes = 0;
    std::uint64_t peer_resets = 0;        // recv/send: ECONNRESET or EPIPE (load tools end so)
    std::uint64_t connection_errors = 0;  // recv/send/epoll_ctl failed otherwise
    std::uint64_t accept_errors = 0;
};

struct Connection {
    int fd = -1;
    bool waiting_out = false;  // registered for EPOLLOUT rather than EPOLLIN
    bool peer_closed = false;  // recv returned 0: answer what is buffered, then close
    bool close_after = false;  // the response being sent is the last one
    bool responding = false;   // a response is being sent
    // After the last response: our FIN is sent and what the peer still sends is read and
    // dropped until its FIN (at most linger_drain_limit bytes), then the socket closes.
    // Closing with unread data would send a RST (RFC 1122 §4.2.2.13, Linux tcp_close),
    // which can destroy the response before the client reads it (lingering close, as
    // RFC 9112 §9.6 recommends).
    bool lingering = false;
    std::size_t drained = 0;
    std::array<char, in_buffer_size> in;
    std::size_t in_begin = 0, in_end = 0;
    std::array<char, out_buffer_size> out;
    std::size_t out_begin = 0, out_end = 0;
    // The body still to send after out's bytes: either pattern bytes from pattern_offset
    // on, or the bytes of `owned` from owned_offset on.
    std::uint64_t pattern_remaining = 0, pattern_offset = 0;
    std::string owned;
    std::size_t owned_offset = 0;
    std::optional<RequestParser> parser;
};

struct Server {
    int port = default_port;
    std::size_t max_connections = default_max_connections;
    int epoll_fd = -1;
    int listen_fd = -1;
    // Slot i holds connection i, created at its first use and reused after.
    std::vector<std::unique_ptr<Connection>> slots;
    std::vector<std::size_t> free_slots;
    std::size_t open = 0;
    Counters counters;
};

bool parse_count(const char* text, unsigned long max, unsigned long& out) {
    char* end = nullptr;
    errno = 0;
    unsigned long v = std::strtoul(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v < 1 || v > max) return false;
    out = v;
    return true;
}

// Returns 0 to run, 1 after --help, -1 on a bad argument (reported).
int parse_args(int argc, char** argv, Server& s) {
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        if (a == "--help") {
            std::printf("usage: httpd [EAL args] -- --ip ADDR/LEN [pollux options] [--http-port N] "
                        "[--max-connections N] [--inline]\n");
            return 1;
        }
        if (a == "--inline") continue;
        if (a == "--threads") {
            std::fprintf(stderr, "httpd: --threads: the threaded mode (application threads calling the stack) is "
                                 "not available yet; run with --inline\n");
            return -1;
        }
        if (a == "--http-port" || a == "--max-connections") {
            unsigned long v = 0;
            const unsigned long max = a == "--http-port" ? 65535 : 1000000;
            if (i + 1 >= argc || !parse_count(argv[i + 1], max, v)) {
                std::fprintf(stderr, "httpd: %s needs a number in 1..%lu\n", argv[i], max);
                return -1;
            }
            ++i;
            if (a == "--http-port") {
                s.port = static_cast<int>(v);
            } else {
                s.max_connections = v;
            }
            continue;
        }
        std::fprintf(stderr, "httpd: unknown argument %s\n", argv[i]);
        return -1;
    }
    return 0;
}

int watch(Server& s, int op, int fd, std::uint32_t events, std::uint64_t tag) {
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = tag;
    return net_epoll_ctl(s.epoll_fd, op, fd, &ev);
}

int open_listener(Server& s) {
    int fd = net_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        std::fprintf(stderr, "httpd: socket: %s\n", std::strerror(errno));
        return -1;
    }
    int one = 1;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = net_local_address();
    addr.sin_port = htons(static_cast<std::uint16_t>(s.port));
    if (net_setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        net_bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) < 0 || net_listen(fd, listen_backlog) < 0) {
        std::fprintf(stderr, "httpd: listen on port %d: %s\n", s.port, std::strerror(errno));
        net_close(fd);
        return -1;
    }
    return fd;
}

void close_connection(Server& s, std::size_t slot) {
    Connection& c = *s.slots[slot];
    net_close(c.fd);  // also leaves the epoll set
    c.fd = -1;
    c.parser.reset();
    c.owned.clear();
    c.owned.shrink_to_fit();
    s.open--;
    s.counters.closed++;
    s.free_slots.push_back(slot);
}

void accept_all(Server& s) {
    for (;;) {
        int fd = net_accept4(s.listen_fd, nullptr, nullptr, SOCK_NONBLOCK);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK) s.counters.accept_errors++;
            return;
        }
        if (s.free_slots.empty()) {
            s.counters.refused++;
            net_close(fd);
            continue;
        }
        const std::size_t slot = s.free_slots.back();
        s.free_slots.pop_back();
        if (!s.slots[slot]) s.slots[slot] = std::make_unique<Connection>();
        Connection& c = *s.slots[slot];
        c.fd = fd;
        c.waiting_out = c.peer_closed = c.close_after = c.responding = c.lingering = false;
        c.drained = 0;
        c.in_begin = c.in_end = c.out_begin = c.out_end = 0;
        c.pattern_remaining = c.pattern_offset = 0;
        c.owned_offset = 0;
        c.parser.emplace();
        s.open++;
        s.counters.accepted++;
        // Small responses go out at once, not after the peer's delayed ACK (Nagle).
        int one = 1;
        net_setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (watch(s, EPOLL_CTL_ADD, fd, EPOLLIN, slot) < 0) {
            s.counters.connection_errors++;
            close_connection(s, slot);
        }
    }
}

const char* reason(int status) {
    switch (status) {
        case 200: return "OK";
        case 400: return "Bad Request";
        case 404: return "Not Found";
        case 405: return "Method Not Allowed";
        default: return "Unknown";
    }
}

// Writes the status line and header into the (empty) output buffer.
void start_response(Server& s, Connection& c, int status, std::uint64_t length, const char* type,
                    const char* extra_header, bool keep_alive, bool http10) {
    const char* connection = !keep_alive ? "Connection: close\r\n" : http10 ? "Connection: keep-alive\r\n" : "";
    int n = std::snprintf(c.out.data(), c.out.size(),
                          "HTTP/1.1 %d %s\r\nServer: pollux-httpd (%s)\r\nContent-Type: %s\r\n"
                          "Content-Length: %" PRIu64 "\r\n%s%s\r\n",
                          status, reason(status), net_stack_name(), type, length, extra_header, connection);
    c.out_begin = 0;
    c.out_end = static_cast<std::size_t>(n);
    c.responding = true;
    c.close_after = !keep_alive;
    if (status / 100 == 2) {
        s.counters.status_2xx++;
    } else if (status == 400) {
        s.counters.status_400++;
    } else if (status == 404) {
        s.counters.status_404++;
    } else if (status == 405) {
        s.counters.status_405++;
    }
}

std::string counters_json(const Server& s) {
    const Counters& k = s.counters;
    char buffer[1024];
    std::snprintf(buffer, sizeof buffer,
                  "{\"accepted\": %" PRIu64 ", \"refused\": %" PRIu64 ", \"closed\": %" PRIu64
                  ", \"open\": %zu, \"requests\": %" PRIu64 ", \"status_2xx\": %" PRIu64 ", \"status_400\": %" PRIu64
                  ", \"status_404\": %" PRIu64 ", \"status_405\": %" PRIu64 ", \"bytes_received\": %" PRIu64
                  ", \"bytes_sent\": %" PRIu64 ", \"sink_bytes\": %" PRIu64 ", \"peer_resets\": %" PRIu64
                  ", \"connection_errors\": %" PRIu64 ", \"accept_errors\": %" PRIu64 "}",
                  k.accepted, k.refused, k.closed, s.open, k.requests, k.status_2xx, k.status_400, k.status_404,
                  k.status_405, k.bytes_received, k.bytes_sent, k.sink_bytes, k.peer_resets, k.connection_errors,
                  k.accept_errors);
    return buffer;
}

// The parser has a whole request: queue its response.
void respond(Server& s, Connection& c) {
    const RequestParser& p = *c.parser;
    s.counters.requests++;
    const bool keep_alive = p.keep_alive() && !c.peer_closed;
    // HTTP/1.0 keeps a connection only when the response says so (RFC 9112 §9.3).
    const bool http10 = p.version() == 10;
    const bool body = !p.head();
    switch (p.route()) {
        case Route::index:
            start_response(s, c, 200, index_page.size(), "text/html; charset=utf-8", "", keep_alive, http10);
            if (body) c.owned.assign(index_page);
            break;
        case Route::bytes:
            start_response(s, c, 200, p.bytes_count(), "application/octet-stream", "", keep_alive, http10);
            if (body) {
                c.pattern_remaining = p.bytes_count();
                c.pattern_offset = 0;
            }
            break;
        case Route::sink: {
            s.counters.sink_bytes += p.body_length();
            char line[64];
            int n = std::snprintf(line, sizeof line, "%" PRIu64 " %08" PRIx32 "\n", p.body_length(), p.body_crc32());
            start_response(s, c, 200, static_cast<std::uint64_t>(n), "text/plain", "", keep_alive, http10);
            c.owned.assign(line, static_cast<std::size_t>(n));
            break;
        }
        case Route::stats: {
            std::string json = "{\"stack\": \"" + std::string(net_stack_name()) + "\", \"httpd\": " +
                               counters_json(s) + ", \"stack_counters\": " + stack_stats_json() + "}\n";
            start_response(s, c, 200, json.size(), "application/json", "", keep_alive, http10);
            if (body) c.owned = std::move(json);
            break;
        }
        case Route::not_found: {
            constexpr std::string_view text = "not found\n";
            start_response(s, c, 404, text.size(), "text/plain", "", keep_alive, http10);
            if (body) c.owned.assign(text);
            break;
        }
        case Route::method_not_allowed: {
            constexpr std::string_view text = "method not allowed\n";
            start_response(s, c, 405, text.size(), "text/plain", "Allow: GET, HEAD, POST\r\n", keep_alive, http10);
            if (body) c.owned.assign(text);
            break;
        }
        case Route::bad_request: {
            constexpr std::string_view text = "bad request\n";
            start_response(s, c, 400, text.size(), "text/plain", "", keep_alive, http10);
            if (body) c.owned.assign(text);
            break;
        }
    }
    c.owned_offset = 0;
}

// A request Beast rejected: 400, and the connection closes after it (the framing of
// anything that follows is unknown).
void respond_bad_request(Server& s, Connection& c) {
    constexpr std::string_view text = "bad request\n";
    s.counters.requests++;
    start_response(s, c, 400, text.size(), "text/plain", "", false, false);
    c.owned.assign(text);
    c.owned_offset = 0;
}

// Refills the empty output buffer from the response body. Returns false when the body
// is done.
bool refill(Connection& c) {
    c.out_begin = c.out_end = 0;
    if (c.owned_offset < c.owned.size()) {
        const std::size_t n = std::min(c.out.size(), c.owned.size() - c.owned_offset);
        std::memcpy(c.out.data(), c.owned.data() + c.owned_offset, n);
        c.owned_offset += n;
        c.out_end = n;
        return true;
    }
    if (c.pattern_remaining == 0) return false;
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(c.out.size(), c.pattern_remaining));
    unsigned value = static_cast<unsigned>(c.pattern_offset % pattern_period);
    for (std::size_t i = 0; i < n; ++i) {
        c.out[i] = static_cast<char>(value);
        if (++value == pattern_period) value = 0;
    }
    c.pattern_offset += n;
    c.pattern_remaining -= n;
    c.out_end = n;
    return true;
}

enum class Step { progress, wait_in, wait_out, done, failed };

Step set_interest(Server& s, Connection& c, std::size_t slot, bool out) {
    if (c.waiting_out != out) {
        c.waiting_out = out;
        if (watch(s, EPOLL_CTL_MOD, c.fd, out ? EPOLLOUT : EPOLLIN, slot) < 0) return Step::failed;
    }
    return out ? Step::wait_out : Step::wait_in;
}

// The last response is sent: read and drop until the peer's FIN.
Step linger(Server& s, Connection& c, std::size_t slot) {
    ssize_t n = net_recv(c.fd, c.in.data(), c.in.size(), 0);
    if (n > 0) {
        c.drained += static_cast<std::size_t>(n);
        return c.drained > linger_drain_limit ? Step::done : Step::progress;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return set_interest(s, c, slot, false);
    return Step::done;  // the FIN, or a reset: either way nothing more to do
}

// One step of a connection's work: send, else parse, else receive.
Step step(Server& s, Connection& c, std::size_t slot) {
    if (c.lingering) return linger(s, c, slot);
    if (c.responding) {
        if (c.out_begin == c.out_end && !refill(c)) {
            c.responding = false;
            c.owned.clear();
            if (c.close_after) {
                if (c.peer_closed || net_shutdown(c.fd, SHUT_WR) < 0) return Step::done;
                c.lingering = true;
                return Step::progress;
            }
            c.parser.emplace();
            return Step::progress;
        }
        ssize_t n = net_send(c.fd, c.out.data() + c.out_begin, c.out_end - c.out_begin, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) return set_interest(s, c, slot, true);
            return Step::failed;
        }
        c.out_begin += static_cast<std::size_t>(n);
        s.counters.bytes_sent += static_cast<std::uint64_t>(n);
        return Step::progress;
    }
    if (c.in_begin < c.in_end) {
        boost::beast::error_code ec;
        const std::size_t used =
            c.parser->put(boost::asio::const_buffer(c.in.data() + c.in_begin, c.in_end - c.in_begin), ec);
        c.in_begin += used;
        if (c.in_begin == c.in_end) c.in_begin = c.in_end = 0;
        if (ec == boost::beast::http::error::need_more) {
            if (used > 0) return Step::progress;
            // A partial head: move it to the front so the rest fits behind it.
            if (c.in_begin > 0) {
                std::memmove(c.in.data(), c.in.data() + c.in_begin, c.in_end - c.in_begin);
                c.in_end -= c.in_begin;
                c.in_begin = 0;
            }
        } else if (ec) {
            respond_bad_request(s, c);
            return Step::progress;
        } else {
            if (c.parser->is_done()) respond(s, c);
            return Step::progress;
        }
    }
    if (c.peer_closed) return Step::done;  // everything buffered is answered
    if (c.in_end == c.in.size()) {
        // Cannot happen while the header limit is below the buffer size (the parser
        // refuses a longer head first, and takes every body byte): refuse, never spin.
        respond_bad_request(s, c);
        return Step::progress;
    }
    ssize_t n = net_recv(c.fd, c.in.data() + c.in_end, c.in.size() - c.in_end, 0);
    if (n > 0) {
        c.in_end += static_cast<std::size_t>(n);
        s.counters.bytes_received += static_cast<std::uint64_t>(n);
        return Step::progress;
    }
    if (n == 0) {
        c.peer_closed = true;
        // A complete message framed by the end of the stream cannot occur in a request
        // (RFC 9112 §6.3: no length means no body); an unfinished one is dropped.
        return Step::progress;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) return set_interest(s, c, slot, false);
    return Step::failed;
}

void serve(Server& s, std::size_t slot) {
    Connection& c = *s.slots[slot];
    for (int i = 0; i < turn_steps; ++i) {
        switch (step(s, c, slot)) {
            case Step::progress: continue;
            case Step::wait_in:
            case Step::wait_out: return;
            case Step::failed:
                if (errno == ECONNRESET || errno == EPIPE) {
                    s.counters.peer_resets++;
                } else {
                    s.counters.connection_errors++;
                }
                [[fallthrough]];
            case Step::done: close_connection(s, slot); return;
        }
    }
    // The turn ran out with work left: EPOLLOUT reports at once (the send buffer has
    // room or the response is blocked), where EPOLLIN might never come again.
    if (set_interest(s, c, slot, true) == Step::failed) {
        s.counters.connection_errors++;
        close_connection(s, slot);
    }
}

int run(Server& s) {
    std::array<epoll_event, epoll_batch> events;
    for (;;) {
        int n = net_epoll_wait(s.epoll_fd, events.data(), static_cast<int>(events.size()), -1);
        if (n < 0) {
            if (errno == EINTR) return 0;
            std::fprintf(stderr, "httpd: epoll_wait: %s\n", std::strerror(errno));
            return 1;
        }
        for (int i = 0; i < n; ++i) {
            const std::uint64_t tag = events[static_cast<std::size_t>(i)].data.u64;
            if (tag == listener_tag) {
                accept_all(s);
            } else if (s.slots[tag] && s.slots[tag]->fd >= 0) {
                serve(s, static_cast<std::size_t>(tag));
            }
        }
    }
}

int app(int argc, char** argv, void* ctx) {
    Server& s = *static_cast<Server*>(ctx);
    const int parsed = parse_args(argc, argv, s);
    if (parsed != 0) return parsed > 0 ? 0 : 2;
    s.slots.resize(s.max_connections);
    s.free_slots.reserve(s.max_connections);
    for (std::size_t i = s.max_connections; i-- > 0;) s.free_slots.push_back(i);
    s.epoll_fd = net_epoll_create1(0);
    if (s.epoll_fd < 0) {
        std::fprintf(stderr, "httpd: epoll_create1: %s\n", std::strerror(errno));
        return 1;
    }
    int rc = 1;
    s.listen_fd = open_listener(s);
    if (s.listen_fd >= 0 && watch(s, EPOLL_CTL_ADD, s.listen_fd, EPOLLIN, listener_tag) == 0) {
        std::fprintf(stderr, "httpd: running on %s, http on port %d (inline, epoll); Ctrl-C stops\n", net_stack_name(),
                     s.port);
        rc = run(s);
    }
    for (std::size_t i = 0; i < s.slots.size(); ++i) {
        if (s.slots[i] && s.slots[i]->fd >= 0) close_connection(s, i);
    }
    if (s.listen_fd >= 0) net_close(s.listen_fd);
    net_close(s.epoll_fd);
    std::fprintf(stderr, "httpd: stopped: %s\n", counters_json(s).c_str());
    return rc;
}

}  // namespace
}  // namespace httpd

int main(int argc, char** argv) {
    httpd::stack_stats_init(argc, argv);
    httpd::Server server;
    return net_main(argc, argv, httpd::app, &server);
}
