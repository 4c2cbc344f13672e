#include <catch2/catch.hpp>

#include "wire/seq_num.hpp"

using pollux::wire::SeqNum;

TEST_CASE("SeqNum compares modulo 2^32", "[wire][seq]") {
    const SeqNum a(100), b(200);
    CHECK(a < b);
    CHECK(b > a);
    CHECK(a <= a);
    CHECK(a >= a);
    CHECK(a != b);
    CHECK((b - a) == 100);
    CHECK((a - b) == -100);
}

TEST_CASE("SeqNum wraps around 2^32", "[wire][seq]") {
    const SeqNum near_end(0xfffffff0u);
    const SeqNum wrapped = near_end + 0x20;
    CHECK(wrapped.raw() == 0x10u);
    CHECK(near_end < wrapped);
    CHECK(wrapped > near_end);
    CHECK((wrapped - near_end) == 0x20);
    CHECK((near_end - wrapped) == -0x20);
    CHECK((SeqNum(5) - 10u).raw() == 0xfffffffbu);
    SeqNum s(0xffffffffu);
    s += 1;
    CHECK(s.raw() == 0u);
    s -= 2;
    CHECK(s.raw() == 0xfffffffeu);
    CHECK(SeqNum::max(near_end, wrapped) == wrapped);
    CHECK(SeqNum::min(near_end, wrapped) == near_end);
}

TEST_CASE("SeqNum half-space boundary", "[wire][seq]") {
    // 2^31 - 1 ahead is still after; 2^31 + 1 ahead reads as before.
    const SeqNum base(0x80000000u);
    CHECK(base + 0x7fffffffu > base);
    CHECK(base + 0x80000001u < base);
}

TEST_CASE("SeqNum in_window is half-open and wraps", "[wire][seq]") {
    const SeqNum lo(0xfffffff0u), hi(0x10u);
    CHECK(SeqNum(0xfffffff0u).in_window(lo, hi));
    CHECK(SeqNum(0xffffffffu).in_window(lo, hi));
    CHECK(SeqNum(0u).in_window(lo, hi));
    CHECK(SeqNum(0xfu).in_window(lo, hi));
    CHECK_FALSE(SeqNum(0x10u).in_window(lo, hi));
    CHECK_FALSE(SeqNum(0xffffffefu).in_window(lo, hi));
    // An empty window holds nothing.
    CHECK_FALSE(SeqNum(7).in_window(SeqNum(7), SeqNum(7)));
}
