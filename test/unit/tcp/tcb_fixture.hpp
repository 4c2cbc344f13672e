// One TCB on a manual clock and the peer's side of its conversation, forged by hand
// (DESIGN.md §6): the transition tests feed a segment, advance the clock, and check
// exactly what the TCB sent and which state it is in.
#pragma once

#include <catch2/catch.hpp>

#include <algorithm>
#include <deque>

#include "support/eal.hpp"
#include "support/packets.hpp"
#include "tcp/tcb.hpp"

namespace pollux::test::tcb {

struct Sent {
    wire::TcpRepr h;
    Bytes data;
};

// The TCB's SegmentOutput: every segment it sends, in order.
struct Capture final : tcp::SegmentOutput {
    void transmit(const wire::TcpRepr& header, buf::PacketBuf&& payload) noexcept override {
        sent.push_back({header, payload ? contents(payload) : Bytes{}});
    }
    Sent pop() {
        REQUIRE(!sent.empty());
        Sent s = sent.front();
        sent.pop_front();
        return s;
    }
    void drain() { sent.clear(); }
    std::deque<Sent> sent;
};

inline const wire::Endpoint kLocal{wire::Ipv4Address(198, 18, 0, 2), wire::Port(80)};
inline const wire::Endpoint kRemote{wire::Ipv4Address(198, 18, 0, 1), wire::Port(40000)};
inline constexpr std::uint32_t kPeerIsn = 5000;
inline constexpr std::uint32_t kMss = 536;  // no MSS option from the peer: RFC 9293 §3.7.1 default
inline const wire::SeqNum kRcv(kPeerIsn + 1);  // the peer's first data byte
inline const wire::SeqNum kSnd(1001);          // ours, after establish()

struct Fixture {
    explicit Fixture(tcp::TcbConfig config = {}) : cfg(config), tcb(cfg, out, mbuf_pool(), kLocal, kRemote) {}

    wire::TcpRepr seg(std::uint8_t flags, wire::SeqNum seq, wire::SeqNum ack, std::uint16_t window = 65535) const {
        wire::TcpRepr h;
        h.src_port = kRemote.port;
        h.dst_port = kLocal.port;
        h.seq = seq;
        h.ack = ack;
        h.flags = flags;
        h.window = window;
        return h;
    }
    void feed(wire::TcpRepr h, const Bytes& data = {}) {
        tcp::Segment s;
        s.header = h;
        s.header.payload_len = static_cast<std::uint16_t>(data.size());
        if (!data.empty()) s.payload = packet(data);
        tcb.input(std::move(s), now);
    }
    // Moves the clock, firing every timer due on the way at its own instant (a deadline
    // already past fires now: the clock never goes back).
    void advance(time::Duration d) {
        const time::Instant end = now + d;
        while (tcb.poll_at() <= end) {
            now = std::max(now, tcb.poll_at());
            tcb.on_timer(now);
        }
        now = end;
    }
    long send(const Bytes& b, bool more = false) {
        const iovec v{const_cast<std::uint8_t*>(b.data()), b.size()};
        return tcb.send({&v, 1}, now, more);
    }
    Bytes recv(std::size_t n = 1 << 20) {
        Bytes b(n);
        const iovec v{b.data(), b.size()};
        const long r = tcb.recv({&v, 1}, false, now);
        b.resize(r > 0 ? static_cast<std::size_t>(r) : 0);
        return b;
    }
    long recv_result() {
        std::uint8_t byte = 0;
        const iovec v{&byte, 1};
        return tcb.recv({&v, 1}, true, now);
    }
    // Passive open with our ISS `iss` and the peer's `peer_isn`, no options (no scaling, no
    // timestamps: the arithmetic of the tests stays plain).
    void establish(std::uint32_t iss = 1000, std::uint32_t peer_isn = kPeerIsn, std::uint16_t window = 65535) {
        tcb.accept_syn(seg(wire::TcpFlags::syn, wire::SeqNum(peer_isn), wire::SeqNum(0)), wire::SeqNum(iss), now);
        const Sent synack = out.pop();
        REQUIRE(synack.h.flags == (wire::TcpFlags::syn | wire::TcpFlags::ack));
        feed(seg(wire::TcpFlags::ack, wire::SeqNum(peer_isn + 1), wire::SeqNum(iss + 1), window));
        REQUIRE(tcb.state() == tcp::State::established);
        REQUIRE(out.sent.empty());
    }

    tcp::TcbConfig cfg;
    Capture out;
    time::Instant now = time::Instant::from_ns(1'000'000'000'000);
    tcp::Tcb tcb;
};

}  // namespace pollux::test::tcb
