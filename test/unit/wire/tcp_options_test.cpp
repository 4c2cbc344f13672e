#include <catch2/catch.hpp>

#include <array>
#include <vector>

#include "wire/tcp_options.hpp"

using namespace pollux::wire;

namespace {
Result<TcpOptions> parse(std::initializer_list<std::uint8_t> bytes) {
    static std::vector<std::uint8_t> storage;
    storage.assign(bytes);
    return TcpOptions::parse(storage);
}
}  // namespace

TEST_CASE("TCP options: empty, EOL and NOP", "[wire][tcp_options]") {
    CHECK(parse({}));
    CHECK(parse({0}));
    CHECK(parse({1, 1, 1, 1}));
    // EOL ends the list: what follows is not parsed (even garbage).
    const auto r = parse({0, 2, 0});
    REQUIRE(r);
    CHECK_FALSE(r->mss);
}

TEST_CASE("TCP options: every kind pollux knows", "[wire][tcp_options]") {
    const auto r = parse({2, 4, 0x05, 0xb4,                                   // MSS 1460
                          1, 3, 3, 14,                                        // NOP WS 14
                          4, 2,                                               // SACK-permitted
                          8, 10, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff,          // TS 1 / 0xffffffff
                          5, 18, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4});  // SACK 2 blocks
    REQUIRE(r);
    CHECK(r->mss == 1460);
    CHECK(r->window_scale == 14);
    CHECK(r->sack_permitted);
    REQUIRE(r->timestamps);
    CHECK(r->timestamps->value == 1);
    CHECK(r->timestamps->echo == 0xffffffffu);
    REQUIRE(r->sacks().size() == 2);
    CHECK(r->sacks()[0] == SackBlock{SeqNum(1), SeqNum(2)});
    CHECK(r->sacks()[1] == SackBlock{SeqNum(3), SeqNum(4)});
}

TEST_CASE("TCP options: window scale above 14 is reported as received", "[wire][tcp_options]") {
    const auto r = parse({3, 3, 200, 0});
    REQUIRE(r);
    CHECK(r->window_scale == 200);
}

TEST_CASE("TCP options: unknown kinds are skipped by length", "[wire][tcp_options]") {
    const auto r = parse({30, 6, 0xde, 0xad, 0xbe, 0xef,  // MPTCP-ish, unknown here
                          254, 2,                          // experimental, empty
                          2, 4, 0x02, 0x18});
    REQUIRE(r);
    CHECK(r->mss == 536);
}

TEST_CASE("TCP options: known kinds with wrong lengths are ignored like Linux", "[wire][tcp_options]") {
    const auto r = parse({2, 3, 0x05,            // MSS with length 3
                          3, 4, 7, 0,            // WS with length 4
                          4, 3, 0,               // SACK-permitted with length 3
                          8, 6, 0, 0, 0, 1,      // TS with length 6
                          5, 7, 0, 0, 0, 0, 0,   // SACK with a partial block
                          5, 2});                // SACK with no block
    REQUIRE(r);
    CHECK_FALSE(r->mss);
    CHECK_FALSE(r->window_scale);
    CHECK_FALSE(r->sack_permitted);
    CHECK_FALSE(r->timestamps);
    CHECK(r->sacks().empty());
}

TEST_CASE("TCP options: malformed lengths are rejected, never looped on", "[wire][tcp_options]") {
    CHECK(parse({2, 0, 0, 0}).error() == WireError::malformed);  // length 0
    CHECK(parse({2, 1, 0, 0}).error() == WireError::malformed);  // length 1
    CHECK(parse({30, 0}).error() == WireError::malformed);       // unknown kind, length 0
    CHECK(parse({2}).error() == WireError::malformed);           // kind with no length byte
    CHECK(parse({1, 1, 1, 8}).error() == WireError::malformed);  // ... after NOPs
    CHECK(parse({8, 10, 0, 0}).error() == WireError::malformed); // past the end
    CHECK(parse({2, 4, 5, 0xb4, 30, 40}).error() == WireError::malformed);
}

TEST_CASE("TCP options: SYN layout emit, golden bytes", "[wire][tcp_options]") {
    TcpOptions o;
    o.mss = 1460;
    o.sack_permitted = true;
    o.timestamps = TcpTimestamps{0xaabbccdd, 0};
    o.window_scale = 9;
    std::array<std::uint8_t, 24> buf;
    buf.fill(0xa5);
    REQUIRE(o.buffer_len() == 20);
    o.emit(buf);
    const std::array<std::uint8_t, 20> expect = {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0xaa, 0xbb,
                                                 0xcc, 0xdd, 0, 0, 0, 0, 1, 3, 3, 9};
    CHECK(std::equal(expect.begin(), expect.end(), buf.begin()));
    for (std::size_t i = 20; i < buf.size(); ++i) CHECK(buf[i] == 0xa5);
    const auto back = TcpOptions::parse(std::span(buf).first(20));
    REQUIRE(back);
    CHECK(*back == o);
}

TEST_CASE("TCP options: SACK-permitted without timestamps is NOP-padded", "[wire][tcp_options]") {
    TcpOptions o;
    o.mss = 1460;
    o.sack_permitted = true;
    std::array<std::uint8_t, 8> buf;
    buf.fill(0xa5);
    REQUIRE(o.buffer_len() == 8);
    o.emit(buf);
    CHECK(buf == std::array<std::uint8_t, 8>{2, 4, 0x05, 0xb4, 1, 1, 4, 2});
}

TEST_CASE("TCP options: SACK blocks are cut to fit in 40 bytes", "[wire][tcp_options]") {
    TcpOptions o;
    for (std::uint8_t i = 0; i < 4; ++i) {
        o.sack_blocks[i] = SackBlock{SeqNum(i * 100u), SeqNum(i * 100u + 50)};
    }
    o.sack_count = 4;
    CHECK(o.sack_blocks_that_fit() == 4);
    CHECK(o.buffer_len() == 36);
    o.timestamps = TcpTimestamps{5, 6};
    // 12 (NOP NOP TS) + 4 + 3*8 = 40: three blocks fit (RFC 2018 §3).
    CHECK(o.sack_blocks_that_fit() == 3);
    CHECK(o.buffer_len() == 40);
    std::array<std::uint8_t, 40> buf;
    buf.fill(0xa5);
    o.emit(buf);
    const auto back = TcpOptions::parse(buf);
    REQUIRE(back);
    CHECK(back->sacks().size() == 3);
    CHECK(back->sacks()[2] == o.sack_blocks[2]);
    CHECK(back->timestamps == o.timestamps);
}

TEST_CASE("TCP options: every emitted length is a multiple of 4", "[wire][tcp_options]") {
    for (int mask = 0; mask < 16; ++mask) {
        for (std::uint8_t blocks = 0; blocks <= 4; ++blocks) {
            TcpOptions o;
            if (mask & 1) o.mss = 1400;
            if (mask & 2) o.window_scale = 3;
            if (mask & 4) o.sack_permitted = true;
            if (mask & 8) o.timestamps = TcpTimestamps{1, 2};
            o.sack_count = blocks;
            INFO("mask " << mask << " blocks " << int(blocks));
            CHECK(o.buffer_len() % 4 == 0);
            CHECK(o.buffer_len() <= tcp_option::max_len);
            std::array<std::uint8_t, 40> buf{};
            o.emit(buf);
            const auto back = TcpOptions::parse(std::span(buf).first(o.buffer_len()));
            REQUIRE(back);
            CHECK(back->mss == o.mss);
            CHECK(back->window_scale == o.window_scale);
            CHECK(back->sack_permitted == o.sack_permitted);
            CHECK(back->timestamps == o.timestamps);
            CHECK(back->sacks().size() == o.sack_blocks_that_fit());
        }
    }
}
