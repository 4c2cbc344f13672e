#include <catch2/catch.hpp>

#include <string>

#include "phy/impairment.hpp"

using pollux::phy::ImpairmentConfig;
using pollux::phy::parse_impairment;
using pollux::time::Duration;

TEST_CASE("parse_impairment reads the full command-line form", "[phy]") {
    const auto r = parse_impairment(
        "loss=0.02,reorder=0.05,duplicate=0.01,corrupt=0.001,delay=5ms,jitter=1ms,rate=50mbit,seed=7");
    REQUIRE(r);
    CHECK(r.error.empty());
    const ImpairmentConfig& c = *r.config;
    CHECK(c.loss == 0.02);
    CHECK(c.reorder == 0.05);
    CHECK(c.duplicate == 0.01);
    CHECK(c.corrupt == 0.001);
    CHECK(c.delay == Duration::from_ms(5));
    CHECK(c.jitter == Duration::from_ms(1));
    CHECK(c.rate_bps == 50'000'000);
    CHECK(c.seed == 7);
    CHECK(c.impairs());
}

TEST_CASE("parse_impairment: the empty string and a subset of keys", "[phy]") {
    const auto empty = parse_impairment("");
    REQUIRE(empty);
    CHECK(*empty.config == ImpairmentConfig{});
    CHECK_FALSE(empty.config->impairs());

    const auto only_seed = parse_impairment("seed=18446744073709551615");
    REQUIRE(only_seed);
    CHECK(only_seed.config->seed == 18446744073709551615ULL);
    CHECK(only_seed.config->loss == 0.0);
    CHECK_FALSE(only_seed.config->impairs());  // a seed alone changes nothing

    const auto only_delay = parse_impairment("delay=1us");
    REQUIRE(only_delay);
    CHECK(only_delay.config->delay == Duration::from_us(1));
    CHECK(only_delay.config->impairs());
}

TEST_CASE("parse_impairment: value forms", "[phy]") {
    auto one = [](const char* text) {
        const auto r = parse_impairment(text);
        INFO(text << " -> " << r.error);
        REQUIRE(r);
        return *r.config;
    };
    // Probabilities as fractions, percentages and in exponent form.
    CHECK(one("loss=2%").loss == 0.02);
    CHECK(one("loss=100%").loss == 1.0);
    CHECK(one("loss=1").loss == 1.0);
    CHECK(one("loss=0").loss == 0.0);
    CHECK(one("corrupt=1e-3").corrupt == 0.001);
    // Durations, exactly, with every unit.
    CHECK(one("delay=1.5ms").delay == Duration::from_us(1500));
    CHECK(one("delay=250ns").delay == Duration::from_ns(250));
    CHECK(one("delay=3us").delay == Duration::from_us(3));
    CHECK(one("delay=2s").delay == Duration::from_s(2));
    CHECK(one("delay=0.000000001s").delay == Duration::from_ns(1));
    CHECK(one("jitter=0").jitter == Duration::zero());
    CHECK(one("jitter=0.0").jitter == Duration::zero());
    CHECK(one("jitter=10MS").jitter == Duration::from_ms(10));
    // Rates in SI units, as tc reads them.
    CHECK(one("rate=100bit").rate_bps == 100);
    CHECK(one("rate=64kbit").rate_bps == 64'000);
    CHECK(one("rate=1.5mbit").rate_bps == 1'500'000);
    CHECK(one("rate=10Gbit").rate_bps == 10'000'000'000ULL);
    CHECK(one("rate=0").rate_bps == 0);
    CHECK(one("seed=0").seed == 0);
}

TEST_CASE("parse_impairment refuses bad input with a one-line message naming it", "[phy]") {
    struct Case {
        const char* text;
        const char* message;  // the whole expected error
    };
    const Case cases[] = {
        {"foo=1", "foo=1: unknown key (expected loss, duplicate, reorder, corrupt, delay, jitter, rate or seed)"},
        {"Loss=0.1", "Loss=0.1: unknown key (expected loss, duplicate, reorder, corrupt, delay, jitter, rate or seed)"},
        {"loss", "'loss': expected key=value"},
        {"loss=", "loss=: empty value"},
        {"loss=0.1,", "empty item (a doubled or trailing comma)"},
        {"loss=0.1,,seed=1", "empty item (a doubled or trailing comma)"},
        {",loss=0.1", "empty item (a doubled or trailing comma)"},
        {"loss=0.1,loss=0.2", "loss=0.2: loss given twice"},
        {"loss=1.5", "loss=1.5: probability must be in [0, 1]"},
        {"duplicate=-0.1", "duplicate=-0.1: probability must be in [0, 1]"},
        {"reorder=150%", "reorder=150%: probability must be in [0%, 100%]"},
        {"corrupt=abc", "corrupt=abc: not a number"},
        {"loss=0.1x", "loss=0.1x: not a number"},
        {"loss=nan", "loss=nan: not a number"},
        {"loss=inf", "loss=inf: not a number"},
        {"loss= 0.1", "loss= 0.1: not a number"},
        {"loss=%", "loss=%: not a number"},
        {"delay=5", "delay=5: missing unit (ns, us, ms, s)"},
        {"delay=5m", "delay=5m: unknown unit 'm' (ns, us, ms, s)"},
        {"delay=ms", "delay=ms: not a number"},
        {"delay=-1ms", "delay=-1ms: must not be negative"},
        {"delay=1.5ns", "delay=1.5ns: finer than 1ns"},
        {"jitter=1.2.3ms", "jitter=1.2.3ms: not a number"},
        {"jitter=.5ms", "jitter=.5ms: not a number"},
        {"jitter=5.ms", "jitter=5.ms: not a number"},
        {"delay=10000000000s", "delay=10000000000s: too large"},
        {"rate=50", "rate=50: missing unit (bit, kbit, mbit, gbit)"},
        {"rate=50mbps", "rate=50mbps: unknown unit 'mbps' (bit, kbit, mbit, gbit)"},
        {"rate=0.5bit", "rate=0.5bit: finer than 1bit"},
        {"rate=99999999999999999999bit", "rate=99999999999999999999bit: too large"},
        {"seed=-1", "seed=-1: not an unsigned integer"},
        {"seed=0x10", "seed=0x10: not an unsigned integer"},
        {"seed=18446744073709551616", "seed=18446744073709551616: too large (64-bit)"},
        {"loss=0.1;seed=1", "loss=0.1;seed=1: not a number"},
    };
    for (const Case& c : cases) {
        INFO(c.text);
        const auto r = parse_impairment(c.text);
        CHECK_FALSE(r);
        CHECK(r.error == c.message);
        CHECK(r.error.find('\n') == std::string::npos);
    }
}

TEST_CASE("ImpairmentConfig to_string is canonical and round-trips", "[phy]") {
    const auto r = parse_impairment("seed=7,rate=50mbit,jitter=1ms,delay=5ms,corrupt=0.001,"
                                    "duplicate=0.01,reorder=0.05,loss=2%");
    REQUIRE(r);
    CHECK(to_string(*r.config) ==
          "loss=0.02,duplicate=0.01,reorder=0.05,corrupt=0.001,delay=5ms,jitter=1ms,rate=50mbit,seed=7");
    CHECK(to_string(ImpairmentConfig{}) ==
          "loss=0,duplicate=0,reorder=0,corrupt=0,delay=0,jitter=0,rate=0,seed=0");

    ImpairmentConfig odd;
    odd.loss = 1.0 / 3.0;  // needs all 17 digits to come back
    odd.duplicate = 1.0;
    odd.reorder = 1e-9;
    odd.corrupt = 0.123456789;
    odd.delay = Duration::from_ns(1'500'001);
    odd.jitter = Duration::from_us(1500);
    odd.rate_bps = 1'500'000'001;
    odd.seed = 0xdeadbeefcafef00dULL;
    for (const ImpairmentConfig& c : {odd, *r.config, ImpairmentConfig{}}) {
        const std::string text = to_string(c);
        INFO(text);
        const auto back = parse_impairment(text);
        REQUIRE(back);
        CHECK(*back.config == c);
        CHECK(to_string(*back.config) == text);
    }
    CHECK(to_string(odd) ==
          "loss=0.3333333333333333,duplicate=1,reorder=1e-09,corrupt=0.123456789,delay=1500001ns,"
          "jitter=1500us,rate=1500000001bit,seed=16045690984503111693");
}
