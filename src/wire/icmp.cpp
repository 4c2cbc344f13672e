#include "wire/icmp.hpp"

#include <cassert>
#include <cstring>

#include "wire/byte_order.hpp"
#include "wire/checksum.hpp"

namespace pollux::wire {

WireError IcmpView::check() const noexcept {
    return b_.size() < icmp::header_len ? WireError::truncated : WireError::none;
}

std::uint16_t IcmpView::checksum() const noexcept { return load_be16(&b_[icmp::checksum_offset]); }
std::uint16_t IcmpView::echo_ident() const noexcept { return load_be16(&b_[icmp::ident_offset]); }
std::uint16_t IcmpView::echo_seq() const noexcept { return load_be16(&b_[icmp::seq_offset]); }
std::uint16_t IcmpView::next_hop_mtu() const noexcept { return load_be16(&b_[icmp::mtu_offset]); }
bool IcmpView::checksum_ok() const noexcept { return checksum_verifies(b_); }

namespace {

// The quoted datagram of an ICMP error: an IPv4 header (IHL honoured) and at least 8
// bytes of what followed it. The total length field is not checked against what is
// quoted: the quote is truncated by design.
Result<IcmpRepr::Quoted> parse_quoted(std::span<const std::uint8_t> data) noexcept {
    if (data.size() < ipv4::min_header_len + icmp::min_quoted_payload) return WireError::malformed;
    const Ipv4View v(data);
    const std::size_t hl = v.header_len();
    if (v.version() != 4 || hl < ipv4::min_header_len) return WireError::malformed;
    if (data.size() < hl + icmp::min_quoted_payload) return WireError::malformed;
    IcmpRepr::Quoted q;
    q.ip = Ipv4Repr::from_view(v);
    // The quote is truncated by design; its total length may even lie below the header.
    q.ip.payload_len = v.total_len() >= hl ? static_cast<std::uint16_t>(v.total_len() - hl) : 0;
    q.transport = data.subspan(hl);
    return q;
}

}  // namespace

Result<IcmpRepr> IcmpRepr::parse(std::span<const std::uint8_t> message, ChecksumCheck checksum) noexcept {
    const IcmpView v(message);
    if (const auto e = v.check(); e != WireError::none) return e;
    if (checksum == ChecksumCheck::verify && !v.checksum_ok()) return WireError::bad_checksum;
    IcmpRepr r;
    r.code = v.code();
    r.data = v.data();
    switch (static_cast<IcmpType>(v.type())) {
        case IcmpType::echo_request:
        case IcmpType::echo_reply:
            // RFC 792 says code 0; Linux answers echoes with any code, and so does pollux.
            r.type = static_cast<IcmpType>(v.type());
            r.echo_ident = v.echo_ident();
            r.echo_seq = v.echo_seq();
            return r;
        case IcmpType::dest_unreachable:
            r.type = IcmpType::dest_unreachable;
            if (r.code == static_cast<std::uint8_t>(UnreachableCode::frag_needed)) {
                r.next_hop_mtu = v.next_hop_mtu();
            }
            break;
        case IcmpType::time_exceeded:
        case IcmpType::parameter_problem:
            r.type = static_cast<IcmpType>(v.type());
            break;
        default:
            return WireError::unsupported;
    }
    if (const auto q = parse_quoted(r.data); !q) return q.error();
    return r;
}

Result<IcmpRepr::Quoted> IcmpRepr::quoted() const noexcept {
    if (!is_error()) return WireError::unsupported;
    return parse_quoted(data);
}

void IcmpRepr::emit(std::span<std::uint8_t> out) const noexcept {
    assert(out.size() >= buffer_len());
    out[icmp::type_offset] = static_cast<std::uint8_t>(type);
    out[icmp::code_offset] = code;
    store_be16(&out[icmp::checksum_offset], 0);
    if (type == IcmpType::echo_request || type == IcmpType::echo_reply) {
        store_be16(&out[icmp::ident_offset], echo_ident);
        store_be16(&out[icmp::seq_offset], echo_seq);
    } else {
        store_be16(&out[icmp::ident_offset], 0);
        // RFC 1191: the MTU field exists only in "fragmentation needed"; elsewhere it is unused.
        const bool has_mtu = type == IcmpType::dest_unreachable &&
                             code == static_cast<std::uint8_t>(UnreachableCode::frag_needed);
        store_be16(&out[icmp::mtu_offset], has_mtu ? next_hop_mtu : 0);
    }
    std::uint8_t* payload = out.data() + icmp::header_len;  // may be out's end for an empty echo
    if (!data.empty() && data.data() != payload) std::memmove(payload, data.data(), data.size());
    store_be16(&out[icmp::checksum_offset], internet_checksum(out.first(buffer_len())));
}

void echo_request_to_reply(std::span<std::uint8_t> header) noexcept {
    assert(header.size() >= icmp::header_len);
    const std::uint16_t old_word = load_be16(&header[icmp::type_offset]);
    header[icmp::type_offset] = static_cast<std::uint8_t>(IcmpType::echo_reply);
    const std::uint16_t new_word = load_be16(&header[icmp::type_offset]);
    std::uint16_t sum = checksum_update16(load_be16(&header[icmp::checksum_offset]), old_word, new_word);
    // An all-zero reply needs 0xffff, not the 0x0000 eqn. 3 gives (see checksum_update16);
    // 0xffff verifies whenever 0x0000 does, so the mapping is always safe.
    if (sum == 0) sum = 0xffff;
    store_be16(&header[icmp::checksum_offset], sum);
}

}  // namespace pollux::wire
