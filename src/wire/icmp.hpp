// ICMPv4 (RFC 792, RFC 1191 for the next-hop MTU of "fragmentation needed").
//
//   0      1      2          4
//   | type | code | checksum | rest of header (4 bytes) | data...
//   echo:        rest = identifier(2) sequence(2); data = the echoed payload
//   unreachable: rest = unused(2) next-hop MTU(2) (code 4 only); data = the quoted datagram
//   time exceeded: rest = unused(4);                                data = the quoted datagram
//   parameter problem: rest = pointer(1) unused(3);                data = the quoted datagram
#pragma once

#include <cstdint>
#include <span>

#include "wire/error.hpp"
#include "wire/ipv4.hpp"

namespace pollux::wire {

enum class IcmpType : std::uint8_t {
    echo_reply = 0,
    dest_unreachable = 3,
    echo_request = 8,
    time_exceeded = 11,
    parameter_problem = 12,  // RFC 1122 §3.2.2.5: passed to the transport like the others
};

// Codes of dest_unreachable (RFC 792, RFC 1122 §3.2.2.1).
enum class UnreachableCode : std::uint8_t {
    net = 0,
    host = 1,
    protocol = 2,
    port = 3,
    frag_needed = 4,  // with the next-hop MTU (RFC 1191)
    source_route_failed = 5,
    net_unknown = 6,
    host_unknown = 7,
    admin_prohibited = 13,
};

// Codes of time_exceeded.
enum class TimeExceededCode : std::uint8_t {
    ttl = 0,
    reassembly = 1,
};

namespace icmp {
inline constexpr std::size_t type_offset = 0;
inline constexpr std::size_t code_offset = 1;
inline constexpr std::size_t checksum_offset = 2;
inline constexpr std::size_t ident_offset = 4;
inline constexpr std::size_t seq_offset = 6;
inline constexpr std::size_t mtu_offset = 6;
inline constexpr std::size_t header_len = 8;
// An error quotes the offending IP header and at least 8 bytes of its payload (RFC 792);
// that is what the transport needs to find its socket (the ports).
inline constexpr std::size_t min_quoted_payload = 8;
// Linux quotes up to 576 bytes of datagram in total (RFC 1812 §4.3.2.3).
inline constexpr std::size_t max_error_len = 576 - ipv4::min_header_len;
}  // namespace icmp

class IcmpView {
public:
    explicit IcmpView(std::span<const std::uint8_t> message) noexcept : b_(message) {}
    WireError check() const noexcept;

    std::uint8_t type() const noexcept { return b_[icmp::type_offset]; }
    std::uint8_t code() const noexcept { return b_[icmp::code_offset]; }
    std::uint16_t checksum() const noexcept;
    std::uint16_t echo_ident() const noexcept;
    std::uint16_t echo_seq() const noexcept;
    std::uint16_t next_hop_mtu() const noexcept;
    std::span<const std::uint8_t> data() const noexcept { return b_.subspan(icmp::header_len); }
    bool checksum_ok() const noexcept;

private:
    std::span<const std::uint8_t> b_;
};

struct IcmpRepr {
    IcmpType type = IcmpType::echo_request;
    std::uint8_t code = 0;
    std::uint16_t echo_ident = 0;    // echo request/reply
    std::uint16_t echo_seq = 0;      // echo request/reply
    std::uint16_t next_hop_mtu = 0;  // dest_unreachable/frag_needed; 0 from pre-RFC 1191 routers
    // Echo: the payload to echo. Errors: the quoted datagram (IPv4 header + >= 8 bytes).
    // A view into the parsed buffer (parse) or the bytes to copy out (emit).
    std::span<const std::uint8_t> data;

    // Echo request/reply, dest unreachable and time exceeded; other types are
    // `unsupported`. Errors whose quoted datagram is not an IPv4 header plus 8 bytes
    // are `malformed`: no transport could match them.
    static Result<IcmpRepr> parse(std::span<const std::uint8_t> message,
                                  ChecksumCheck checksum = ChecksumCheck::verify) noexcept;
    std::size_t buffer_len() const noexcept { return icmp::header_len + data.size(); }
    // Writes the header, copies `data` after it and fills the checksum; `out` holds
    // buffer_len() bytes. `data` may already sit at out[8..] (it is then not copied) or
    // anywhere that does not overlap out[0..8).
    void emit(std::span<std::uint8_t> out) const noexcept;

    // The quoted datagram of an error, parsed without checksum checks (routers may have
    // changed it) and with its total length not required to fit (it is truncated).
    struct Quoted {
        Ipv4Repr ip;
        std::span<const std::uint8_t> transport;  // the first >= 8 bytes of its payload
    };
    Result<Quoted> quoted() const noexcept;

    bool is_error() const noexcept {
        return type == IcmpType::dest_unreachable || type == IcmpType::time_exceeded ||
               type == IcmpType::parameter_problem;
    }
};

// Turns an echo request into its reply in place (RFC 792: type 0, same identifier,
// sequence and data) given the message's first 8 bytes. Only the type word changes, so
// the checksum is updated incrementally (RFC 1624) instead of summed over the data again,
// which keeps a 64 KiB echo's reply O(1).
void echo_request_to_reply(std::span<std::uint8_t> header) noexcept;

}  // namespace pollux::wire
