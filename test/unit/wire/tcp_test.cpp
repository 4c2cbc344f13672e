#include <catch2/catch.hpp>

#include <array>
#include <vector>

#include "wire/checksum.hpp"
#include "wire/tcp.hpp"

using namespace pollux::wire;

namespace {
const Ipv4Address client(198, 18, 0, 1);
const Ipv4Address server(198, 18, 0, 2);

// A SYN as Linux sends it: 198.18.0.1:40000 -> 198.18.0.2:80, seq 0x01020304, window
// 64240, options MSS 1460, SACK-permitted, TS 0x11223344/0, NOP, WS 7 (40-byte header).
constexpr std::array<std::uint8_t, 40> syn_bytes = {
    0x9c, 0x40, 0x00, 0x50, 0x01, 0x02, 0x03, 0x04, 0x00, 0x00, 0x00, 0x00, 0xa0, 0x02,
    0xfa, 0xf0, 0xdb, 0xea, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a,
    0x11, 0x22, 0x33, 0x44, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x07};

// A data segment 198.18.0.2:80 -> 198.18.0.1:40000, PSH|ACK, seq 0xfffffffe (wraps
// inside the payload), ack 0x10, window 502, NOP NOP TS 1/2, NOP NOP SACK [0x20,0x30),
// payload "hello".
constexpr std::array<std::uint8_t, 49> data_bytes = {
    0x00, 0x50, 0x9c, 0x40, 0xff, 0xff, 0xff, 0xfe, 0x00, 0x00, 0x00, 0x10, 0xb0, 0x18, 0x01, 0xf6, 0xd1,
    0xb6, 0x00, 0x00, 0x01, 0x01, 0x08, 0x0a, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02, 0x01, 0x01,
    0x05, 0x0a, 0x00, 0x00, 0x00, 0x20, 0x00, 0x00, 0x00, 0x30, 'h',  'e',  'l',  'l',  'o'};

TcpRepr syn_repr() {
    TcpRepr r;
    r.src_port = Port(40000);
    r.dst_port = Port(80);
    r.seq = SeqNum(0x01020304);
    r.flags = TcpFlags::syn;
    r.window = 64240;
    r.options.mss = 1460;
    r.options.sack_permitted = true;
    r.options.timestamps = TcpTimestamps{0x11223344, 0};
    r.options.window_scale = 7;
    return r;
}

TcpRepr data_repr() {
    TcpRepr r;
    r.src_port = Port(80);
    r.dst_port = Port(40000);
    r.seq = SeqNum(0xfffffffe);
    r.ack = SeqNum(0x10);
    r.flags = TcpFlags::psh | TcpFlags::ack;
    r.window = 502;
    r.options.timestamps = TcpTimestamps{1, 2};
    r.options.sack_blocks[0] = SackBlock{SeqNum(0x20), SeqNum(0x30)};
    r.options.sack_count = 1;
    r.payload_len = 5;
    return r;
}
}  // namespace

TEST_CASE("TCP SYN emit matches golden bytes", "[wire][tcp]") {
    std::array<std::uint8_t, 48> buf;
    buf.fill(0xa5);
    const TcpRepr r = syn_repr();
    REQUIRE(r.header_len() == 40);
    r.emit(buf, client, server);
    CHECK(std::equal(syn_bytes.begin(), syn_bytes.end(), buf.begin()));
    for (std::size_t i = 40; i < buf.size(); ++i) CHECK(buf[i] == 0xa5);
}

TEST_CASE("TCP SYN parse of golden bytes", "[wire][tcp]") {
    const auto r = TcpRepr::parse(syn_bytes, client, server);
    REQUIRE(r);
    CHECK(*r == syn_repr());
    CHECK(r->segment_len() == 1);
    CHECK(r->has(TcpFlags::syn));
    CHECK_FALSE(r->has(TcpFlags::ack));
}

TEST_CASE("TCP data segment with timestamps and SACK", "[wire][tcp]") {
    std::array<std::uint8_t, 49> buf;
    buf.fill(0xa5);
    std::copy(data_bytes.begin() + 44, data_bytes.end(), buf.begin() + 44);
    const TcpRepr r = data_repr();
    REQUIRE(r.header_len() == 44);
    r.emit(buf, server, client);
    CHECK(buf == data_bytes);

    const auto parsed = TcpRepr::parse(data_bytes, server, client);
    REQUIRE(parsed);
    CHECK(*parsed == r);
    CHECK(parsed->segment_len() == 5);
    // The payload wraps the sequence space: it ends at 3.
    CHECK((parsed->seq + parsed->segment_len()).raw() == 3u);
    const TcpView v(data_bytes);
    CHECK(v.payload().data() == data_bytes.data() + 44);
    CHECK(v.options().size() == 24);
}

TEST_CASE("TCP checksum covers pseudo-header, header and payload", "[wire][tcp]") {
    // Swapping source and destination keeps the sum; another address does not.
    CHECK(TcpRepr::parse(data_bytes, client, server));
    CHECK(TcpRepr::parse(data_bytes, server, Ipv4Address(198, 18, 0, 3)).error() == WireError::bad_checksum);
    auto flipped = data_bytes;
    flipped[48] ^= 0x20;  // 'o' -> 'O'
    CHECK(TcpRepr::parse(flipped, server, client).error() == WireError::bad_checksum);
    CHECK(TcpRepr::parse(flipped, server, client, ChecksumCheck::skip));
}

TEST_CASE("TCP offload fill leaves the pseudo-header sum", "[wire][tcp]") {
    std::array<std::uint8_t, 40> buf{};
    syn_repr().emit(buf, client, server, L4ChecksumFill::offload);
    // c612 + 0001 + c612 + 0002 + 0006 + 0028 = 0x18c55, folded 0x8c56.
    CHECK(buf[16] == 0x8c);
    CHECK(buf[17] == 0x56);
}

TEST_CASE("TCP malformed headers", "[wire][tcp]") {
    for (std::size_t n = 0; n < tcp::min_header_len; ++n) {
        INFO(n);
        CHECK(TcpRepr::parse(std::span(syn_bytes).first(n), client, server).error() == WireError::truncated);
    }
    auto b = syn_bytes;
    for (std::uint8_t doff = 0; doff < 5; ++doff) {
        INFO(int(doff));
        b[12] = static_cast<std::uint8_t>(doff << 4);
        CHECK(TcpRepr::parse(b, client, server, ChecksumCheck::skip).error() == WireError::malformed);
    }
    b[12] = 0xb0;  // 44 bytes claimed, 40 present
    CHECK(TcpRepr::parse(b, client, server, ChecksumCheck::skip).error() == WireError::truncated);
    b[12] = 0xf0;
    CHECK(TcpRepr::parse(b, client, server, ChecksumCheck::skip).error() == WireError::truncated);
}

TEST_CASE("TCP malformed option lengths reject the segment", "[wire][tcp]") {
    auto b = syn_bytes;
    b[21] = 0;  // MSS length 0
    CHECK(TcpRepr::parse(b, client, server, ChecksumCheck::skip).error() == WireError::malformed);
    b[21] = 1;
    CHECK(TcpRepr::parse(b, client, server, ChecksumCheck::skip).error() == WireError::malformed);
    b = syn_bytes;
    b[38] = 0x05;  // the last option, WS at byte 37, claims 5 bytes: past the 40-byte header
    CHECK(TcpRepr::parse(b, client, server, ChecksumCheck::skip).error() == WireError::malformed);
}

TEST_CASE("TCP header with no options", "[wire][tcp]") {
    TcpRepr r;
    r.src_port = Port(1);
    r.dst_port = Port(2);
    r.seq = SeqNum(7);
    r.ack = SeqNum(9);
    r.flags = TcpFlags::rst | TcpFlags::ack;
    REQUIRE(r.header_len() == 20);
    std::array<std::uint8_t, 20> buf;
    buf.fill(0xa5);
    r.emit(buf, client, server);
    CHECK(buf[12] == 0x50);
    CHECK(buf[13] == 0x14);
    const auto back = TcpRepr::parse(buf, client, server);
    REQUIRE(back);
    CHECK(*back == r);
    CHECK(back->segment_len() == 0);
}

TEST_CASE("TCP emit_header + finish_checksum over a split segment equals a one-span emit", "[wire][tcp]") {
    const Ipv4Address a(198, 18, 0, 2);
    const Ipv4Address b(198, 18, 0, 1);
    for (std::size_t n : {0u, 1u, 3u, 1448u}) {
        TcpRepr r;
        r.src_port = Port(80);
        r.dst_port = Port(40000);
        r.seq = SeqNum(0xfffffff0u);
        r.ack = SeqNum(12345);
        r.flags = TcpFlags::ack | TcpFlags::psh;
        r.window = 502;
        r.options.timestamps = TcpTimestamps{7, 9};
        r.payload_len = static_cast<std::uint16_t>(n);
        std::vector<std::uint8_t> whole(r.buffer_len());
        for (std::size_t i = 0; i < n; ++i) whole[r.header_len() + i] = static_cast<std::uint8_t>(i * 13 + 1);
        std::vector<std::uint8_t> split = whole;
        r.emit(whole, a, b);
        const std::span<std::uint8_t> header = std::span(split).first(r.header_len());
        r.emit_header(header, a, b);
        const std::uint32_t sum = partial_sum(std::span(split).subspan(r.header_len()), partial_sum(header));
        TcpRepr::finish_checksum(header, sum);
        CHECK(split == whole);
        CHECK(TcpRepr::parse(split, a, b));
    }
}
