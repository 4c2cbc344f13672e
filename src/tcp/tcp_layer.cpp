#include "tcp/tcp_layer.hpp"

#include <algorithm>
#include <cerrno>
#include <new>

#include "buf/checksum.hpp"
#include "ip/path_mtu.hpp"
#include "tcp/tcp_socket.hpp"
#include "wire/checksum.hpp"

namespace pollux::tcp {

using wire::TcpFlags;

TcpLayer::TcpLayer(ip::Ipv4Layer& ip, time::TimerWheel& wheel, const time::Clock& clock, const TcpLayerConfig& config)
    : ip_(ip),
      wheel_(wheel),
      clock_(clock),
      config_(config),
      ports_(socket::Transport::tcp, config.port_seed),
      isn_(config.isn_key[0], config.isn_key[1]),
      cookies_(config.cookie_key[0], config.cookie_key[1]),
      rst_limit_(time::TokenBucket::per_second(config.rst_per_sec, config.rst_burst)) {
    ip_.set_transport(wire::IpProtocol::tcp, this);
}

TcpLayer::~TcpLayer() {
    ip_.set_transport(wire::IpProtocol::tcp, nullptr);
    orphans_.clear();
}

std::unique_ptr<TcpSocket> TcpLayer::create_socket() { return std::make_unique<TcpSocket>(*this); }

TcpLayer::Key TcpLayer::key_of(const wire::Endpoint& local, const wire::Endpoint& remote) noexcept {
    return {(std::uint64_t{local.address.value()} << 32) | remote.address.value(),
            (std::uint32_t{local.port.value()} << 16) | remote.port.value()};
}

void TcpLayer::hash(TcpSocket& s) { table_[key_of(s.local(), s.remote())] = &s; }

void TcpLayer::unhash(TcpSocket& s) noexcept {
    const auto it = table_.find(key_of(s.local(), s.remote()));
    if (it != table_.end() && it->second == &s) table_.erase(it);
}

bool TcpLayer::tuple_free(const wire::Endpoint& local, const wire::Endpoint& remote) const noexcept {
    return table_.find(key_of(local, remote)) == table_.end();
}

void TcpLayer::adopt_orphan(TcpSocket& s) noexcept {
    orphans_.emplace(&s, std::unique_ptr<TcpSocket>(&s));
    if (s.time_wait_counted()) ++orphans_in_time_wait_;  // closed by the application in TIME-WAIT
}

void TcpLayer::reap(TcpSocket& s) noexcept { orphans_.erase(&s); }

// Linux tcp_time_wait(): inet_twsk_alloc() refuses a bucket once tcp_max_tw_buckets are in
// use ("TCP: time wait bucket table overflow"), and the connection is simply done.
bool TcpLayer::admit_time_wait(bool orphan) noexcept {
    if (time_wait_ >= config_.max_time_wait) {
        counters_.time_wait_overflows.add();
        return false;
    }
    ++time_wait_;
    if (orphan) ++orphans_in_time_wait_;
    return true;
}

void TcpLayer::leave_time_wait(bool orphan) noexcept {
    --time_wait_;
    if (orphan) --orphans_in_time_wait_;
}

// Bookkeeping for listings only: if the map cannot grow, the listener works as before and
// is just not listed, rather than listen() failing for it.
void TcpLayer::note_listener(const TcpSocket& s, int backlog) noexcept {
    try {
        listeners_[&s] = static_cast<std::uint32_t>(std::max(backlog, 0));
    } catch (const std::bad_alloc&) {
    }
}

void TcpLayer::forget_listener(const TcpSocket& s) noexcept { listeners_.erase(&s); }

// A listener's children are in the 4-tuple table with their parent set until accept()
// takes them (TcpSocket::accept clears it): SYN-RECEIVED ones are the SYN queue (Linux's
// request socks), the others the accept queue (sk_ack_backlog).
TcpLayer::ListenerQueues TcpLayer::queues_of(const TcpSocket& listener) const noexcept {
    ListenerQueues q;
    for (const auto& entry : table_) {
        const TcpSocket& child = *entry.second;
        if (child.parent() != &listener || child.tcb() == nullptr) continue;
        if (child.tcb()->state() == State::syn_received) {
            ++q.syn_queue;
        } else {
            ++q.accept_queue;
        }
    }
    return q;
}

wire::SeqNum TcpLayer::isn(const wire::Endpoint& local, const wire::Endpoint& remote, time::Instant now) const noexcept {
    return isn_.generate(local.address, local.port, remote.address, remote.port, now);
}

void TcpLayer::send_segment(const wire::Endpoint& local, const wire::Endpoint& remote, const wire::TcpRepr& h,
                            buf::PacketBuf&& payload, int ttl, std::uint8_t tos, time::Instant now) noexcept {
    buf::PacketBuf segment = buf::PacketBuf::alloc(ip_.interface().pool());
    if (!segment) return;  // no mbufs: the TCB's timers send it again
    const auto hl = static_cast<std::uint16_t>(h.header_len());
    std::uint8_t* p = segment.append(hl);
    if (p == nullptr) return;
    if (payload && !segment.chain(std::move(payload))) return;
    const std::span<std::uint8_t> header(p, hl);
    h.emit_header(header, local.address, remote.address);
    const bool loop = ip_.is_loopback_destination(remote.address);
    const bool fits = wire::ipv4::min_header_len + h.buffer_len() <= ip_.interface().mtu();
    const bool offload = config_.tx_checksum_offload && (config_.tx_checksum_offload_chained || segment.segment_count() == 1);
    if (offload && fits && !loop) {
        segment.set_header_lengths(0, wire::ipv4::min_header_len, static_cast<std::uint8_t>(hl));
        segment.request_tcp_checksum();
    } else if (!loop) {
        wire::TcpRepr::finish_checksum(header, buf::partial_sum(segment));
    }
    wire::Ipv4Repr ip;
    ip.src = local.address;
    ip.dst = remote.address;
    ip.protocol = wire::IpProtocol::tcp;
    ip.ttl = static_cast<std::uint8_t>(ttl == -1 ? ip_.default_ttl() : ttl);
    ip.tos = tos;
    ip.dont_fragment = true;  // TCP does path MTU discovery (RFC 1191): never fragmented
    if (h.has(TcpFlags::rst)) counters_.out_rsts.add();
    counters_.out_segs.add();
    ip_.output(std::move(segment), ip, now);
}

// RFC 9293 §3.10.7.1: a segment to no connection is answered by a RST (never a RST for a
// RST): <SEQ=SEG.ACK><CTL=RST> if it had an ACK, else <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.
void TcpLayer::reply_rst(const wire::Ipv4Repr& ip, const wire::TcpRepr& h, time::Instant now) noexcept {
    if (h.has(TcpFlags::rst)) return;
    if (ip_.interface().is_broadcast(ip.dst) || ip.dst.is_multicast()) return;
    if (config_.rst_per_sec != 0 && !ip_.is_loopback_destination(ip.src) && !rst_limit_.try_take(now)) {
        counters_.rsts_rate_limited.add();
        return;
    }
    wire::TcpRepr r;
    r.src_port = h.dst_port;
    r.dst_port = h.src_port;
    if (h.has(TcpFlags::ack)) {
        r.seq = h.ack;
        r.flags = TcpFlags::rst;
    } else {
        r.ack = h.seq + h.segment_len();
        r.flags = TcpFlags::rst | TcpFlags::ack;
    }
    send_segment({ip.dst, h.dst_port}, {ip.src, h.src_port}, r, {}, -1, 0, now);
}

// Linux tcp_v4_rcv(): checksum and header, the established table, TIME-WAIT's new SYN,
// the listeners, else a RST.
void TcpLayer::input(buf::PacketBuf&& packet, const wire::Ipv4Repr& ip, time::Instant now) noexcept {
    const std::uint32_t flow_hash = packet.has_rss_hash() ? packet.rss_hash() : 0;
    if (ip_.interface().is_broadcast(ip.dst) || ip.dst.is_multicast()) {
        counters_.in_errs.add();  // TCP is unicast only (RFC 1122 §4.2.3.10)
        return;
    }
    switch (packet.rx_l4_checksum()) {
        case buf::RxChecksum::good:
            break;
        case buf::RxChecksum::bad:
            counters_.in_csum_errors.add();
            counters_.in_errs.add();
            return;
        default: {
            const std::uint32_t pseudo = wire::pseudo_header_sum(ip.src, ip.dst, wire::IpProtocol::tcp, ip.payload_len);
            if (wire::fold(buf::partial_sum(packet, ip.header_len, pseudo)) != 0xffff) {
                counters_.in_csum_errors.add();
                counters_.in_errs.add();
                return;
            }
        }
    }
    // The header (with options, at most 60 bytes) as one span, then the payload after it.
    std::uint8_t scratch[wire::tcp::max_header_len];
    const std::uint32_t avail = std::min<std::uint32_t>(ip.payload_len, wire::tcp::max_header_len);
    const std::uint8_t* hp = packet.read(ip.header_len, avail, scratch);
    const std::uint8_t data_offset = hp != nullptr && avail >= wire::tcp::min_header_len ? (hp[12] >> 4) * 4 : 0;
    if (hp == nullptr || data_offset < wire::tcp::min_header_len || data_offset > avail) {
        counters_.in_errs.add();
        return;
    }
    const auto parsed = wire::TcpRepr::parse({hp, data_offset}, ip.src, ip.dst, wire::ChecksumCheck::skip);
    if (!parsed) {
        counters_.in_errs.add();
        return;
    }
    Segment s;
    s.header = *parsed;
    s.header.payload_len = static_cast<std::uint16_t>(ip.payload_len - data_offset);
    if (s.header.payload_len > 0) {
        const std::uint32_t off = ip.header_len + data_offset;
        if (off <= packet.front().size()) {
            packet.adjust(static_cast<std::uint16_t>(off));
            s.payload = std::move(packet);
        } else {
            s.payload = packet.clone_range(off, s.header.payload_len, ip_.interface().pool());
            if (!s.payload) return;
        }
    }
    const wire::Endpoint local{ip.dst, s.header.dst_port};
    const wire::Endpoint remote{ip.src, s.header.src_port};
    const auto it = table_.find(key_of(local, remote));
    if (it != table_.end()) {
        TcpSocket& conn = *it->second;
        // A new SYN for a connection in TIME-WAIT, beyond its sequence space, starts a new
        // incarnation (RFC 9293 §3.10.7.4 note, Linux tcp_timewait_state_process).
        const bool reincarnation = conn.tcb()->state() == State::time_wait && s.header.has(TcpFlags::syn) &&
                                   !s.header.has(TcpFlags::ack) && s.header.seq > conn.tcb()->rcv_nxt();
        if (!reincarnation) {
            conn.deliver(std::move(s), now);
            return;
        }
        unhash(conn);
        orphans_.erase(&conn);
    }
    auto* listener = static_cast<TcpSocket*>(const_cast<void*>(
        ports_.lookup(ip.dst, s.header.dst_port, ip.src, s.header.src_port, flow_hash)));
    if (listener != nullptr && listener->listening()) {
        const wire::TcpRepr& h = s.header;
        if (h.has(TcpFlags::rst)) return;
        if (h.has(TcpFlags::ack)) {
            // RFC 9293 §3.10.7.2: an ACK in LISTEN is answered by a RST, unless it returns a
            // SYN cookie (RFC 4987 §3.6); a SYN+ACK too.
            if (!h.has(TcpFlags::syn)) {
                const wire::TcpRepr header = h;
                switch (listener->accept_cookie(std::move(s), local, remote, now)) {
                    case TcpSocket::CookieResult::accepted:
                        return;  // counted in InSegs by the new connection
                    case TcpSocket::CookieResult::dropped:
                        counters_.in_segs.add();
                        return;
                    case TcpSocket::CookieResult::invalid:
                        counters_.in_segs.add();
                        // Differing from Linux, which resets it too: a segment with data whose
                        // cookie fails is dropped without a RST. It is what a client sends
                        // when its handshake ACK and first segment were both lost (likely
                        // exactly when cookies are in use: under a flood, with full rx
                        // rings); its retransmission from SEG.SEQ = ISN + 1 then passes the
                        // check. Found by interop_tcp_many on the ASan build: two of 1,000
                        // kernel clients were reset this way.
                        if (header.payload_len == 0) reply_rst(ip, header, now);
                        return;
                    case TcpSocket::CookieResult::not_checked:
                        counters_.in_segs.add();
                        reply_rst(ip, header, now);
                        return;
                }
            }
            counters_.in_segs.add();
            reply_rst(ip, h, now);
            return;
        }
        if (!h.has(TcpFlags::syn)) return;
        counters_.in_segs.add();
        if (h.has(TcpFlags::fin)) {
            // SYN+FIN, a scanner's probe: RFC 9293 §3.10.7.2 would queue the FIN for later,
            // Linux (tcp_rcv_state_process(), drop reason TCP_FLAGS) and the BSDs discard it,
            // and so does pollux — counted in InErrs, where Linux has no counter for it.
            counters_.in_errs.add();
            return;
        }
        listener->accept_syn(h, local, remote, now);
        return;
    }
    counters_.in_segs.add();
    reply_rst(ip, s.header, now);
}

// Linux tcp_v4_err(): an ICMP error about a connection's segment. Unreachables and the
// rest abort a connection still opening (SYN-SENT, SYN-RECEIVED) when hard; otherwise
// they are remembered as the soft error a timeout reports. "Fragmentation needed" lowers
// the connection's path MTU (RFC 1191; per connection, pollux keeps no per-destination
// cache). A TIME-WAIT connection ignores them all.
void TcpLayer::icmp_error(const wire::IcmpRepr& icmp, const wire::IcmpRepr::Quoted& quoted, time::Instant now) noexcept {
    if (quoted.transport.size() < 8) return;
    const wire::TcpView quoted_tcp(quoted.transport);  // the ports and the sequence number: the first 8 bytes
    const auto it = table_.find(key_of({quoted.ip.src, quoted_tcp.src_port()}, {quoted.ip.dst, quoted_tcp.dst_port()}));
    if (it == table_.end()) return;
    TcpSocket& conn = *it->second;
    const Tcb* tcb = conn.tcb();
    if (tcb == nullptr || tcb->state() == State::closed || tcb->state() == State::time_wait) return;
    // RFC 5927 §4.1, as Linux checks every ICMP error: the quoted segment must be one of
    // ours still unacknowledged, SND.UNA <= SEG.SEQ <= SND.NXT (pollux's SND.MAX: an RTO
    // rewinds SND.NXT). A blind attacker must then guess the sequence space as well as
    // the 4-tuple to reset a connection or shrink its segments.
    const wire::SeqNum seq = quoted_tcp.seq();
    if (seq < tcb->snd_una() || seq > tcb->snd_max()) {
        counters_.out_of_window_icmps.add();
        return;
    }
    if (icmp.type == wire::IcmpType::dest_unreachable &&
        icmp.code == static_cast<std::uint8_t>(wire::UnreachableCode::frag_needed)) {
        const ip::PathMtu pmtu =
            ip::path_mtu_from_frag_needed(icmp.next_hop_mtu, std::uint32_t{quoted.ip.header_len} + quoted.ip.payload_len);
        // Linux tcp_v4_mtu_reduced(): a route MTU held above what was asked for means our
        // DF segments may still not fit; EMSGSIZE is the soft error a timeout reports then.
        if (pmtu.clamped) conn.icmp_error(EMSGSIZE, false, now);
        if (conn.path_mtu_reduced(pmtu.mtu, now)) counters_.pmtu_reductions.add();
        return;
    }
    int error = EHOSTUNREACH;
    bool hard = false;
    if (icmp.type == wire::IcmpType::dest_unreachable) {
        switch (icmp.code) {
            case 2: error = ENOPROTOOPT; hard = true; break;   // protocol
            case 3: error = ECONNREFUSED; hard = true; break;  // port
            case 0: case 6: case 9: case 11: error = ENETUNREACH; hard = icmp.code != 0 && icmp.code != 11; break;
            default: error = EHOSTUNREACH; hard = icmp.code >= 5 && icmp.code != 12; break;
        }
    } else if (icmp.type == wire::IcmpType::parameter_problem) {
        error = EPROTO;
        hard = true;
    }
    conn.icmp_error(error, hard, now);
}

}  // namespace pollux::tcp
