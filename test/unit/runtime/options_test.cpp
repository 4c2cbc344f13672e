#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "runtime/options.hpp"
#include "time/instant.hpp"
#include "wire/address.hpp"

using pollux::runtime::OptionsParse;
using pollux::runtime::parse_options;
using pollux::time::Duration;
using pollux::wire::Ipv4Address;
using Args = std::vector<std::string>;

namespace {

// The error is one line that names the option.
void check_error(const OptionsParse& r, const std::string& starts_with) {
    CHECK_FALSE(static_cast<bool>(r));
    CHECK(r.error.rfind(starts_with, 0) == 0);
    CHECK(r.error.find('\n') == std::string::npos);
}

}  // namespace

TEST_CASE("options: every option is read", "[runtime]") {
    const Args args = {"--ip",      "198.18.0.2/24", "--gw",      "198.18.0.1", "--mtu",
                       "9000",      "--port",        "3",         "--rx-desc",  "512",
                       "--tx-desc", "2048",          "--impair",  "loss=0.3,delay=2ms,seed=7",
                       "--syncookies", "2",         "--no-offload"};
    const OptionsParse r = parse_options(args);
    REQUIRE(r);
    CHECK(r.error.empty());
    CHECK(r.rest.empty());
    const auto& o = r.options;
    REQUIRE(o.ip.has_value());
    CHECK(o.ip->address() == Ipv4Address(198, 18, 0, 2));
    CHECK(o.ip->prefix_len() == 24);
    CHECK(o.gateway == Ipv4Address(198, 18, 0, 1));
    CHECK(o.mtu == 9000);
    CHECK(o.port_id == 3);
    CHECK(o.rx_desc == 512);
    CHECK(o.tx_desc == 2048);
    REQUIRE(o.impair.has_value());
    CHECK(o.impair->loss == 0.3);
    CHECK(o.impair->delay == Duration::from_ms(2));
    CHECK(o.impair->seed == 7);
    CHECK(o.syn_cookies == 2);
    CHECK_FALSE(o.offloads);
}

TEST_CASE("options: defaults when only --ip is given", "[runtime]") {
    const OptionsParse r = parse_options({"--ip", "198.18.0.2/32"});
    REQUIRE(r);
    const auto& o = r.options;
    CHECK(o.ip->prefix_len() == 32);
    CHECK_FALSE(o.gateway.has_value());
    CHECK(o.mtu == 0);
    CHECK(o.port_id == 0);
    CHECK(o.rx_desc == 1024);
    CHECK(o.tx_desc == 1024);
    CHECK_FALSE(o.impair.has_value());
    CHECK(o.syn_cookies == 1);
    CHECK(o.offloads);
}

TEST_CASE("options: --ip must be a usable host address, --gw on-link", "[runtime]") {
    for (const char* bad : {"224.0.0.5/24", "240.0.0.1/8", "255.255.255.255/24", "127.0.0.1/8", "198.18.0.0/24",
                            "198.18.0.255/24"}) {
        INFO(bad);
        check_error(parse_options({"--ip", bad}), "--ip");
    }
    // RFC 3021: on a /31 both addresses are hosts; a /32 is one host.
    CHECK(parse_options({"--ip", "198.18.0.0/31"}));
    CHECK(parse_options({"--ip", "198.18.0.1/31"}));
    CHECK(parse_options({"--ip", "198.18.0.7/32"}));
    check_error(parse_options({"--ip", "198.18.0.2/24", "--gw", "198.18.1.1"}), "--gw");
    check_error(parse_options({"--ip", "198.18.0.2/24", "--gw", "198.18.0.2"}), "--gw");
    CHECK(parse_options({"--ip", "198.18.0.2/24", "--gw", "198.18.0.254"}));
}

TEST_CASE("options: --ip is required", "[runtime]") {
    check_error(parse_options({}), "--ip");
    check_error(parse_options({"--gw", "198.18.0.1", "--no-offload"}), "--ip");
}

TEST_CASE("options: bad values are refused with a one-line error naming the option", "[runtime]") {
    const std::string ip = "198.18.0.2/24";
    check_error(parse_options({"--ip", "198.18.0.2"}), "--ip");
    check_error(parse_options({"--ip", "198.18.0.2/33"}), "--ip");
    check_error(parse_options({"--ip", "198.18.0/24"}), "--ip");
    check_error(parse_options({"--ip", "0.0.0.0/24"}), "--ip");
    check_error(parse_options({"--ip", "198.18.0.2/0"}), "--ip");
    check_error(parse_options({"--ip", ip, "--gw", "198.18.0"}), "--gw");
    check_error(parse_options({"--ip", ip, "--gw", "198.18.0.1/24"}), "--gw");
    check_error(parse_options({"--ip", ip, "--mtu", "575"}), "--mtu");
    check_error(parse_options({"--ip", ip, "--mtu", "9217"}), "--mtu");
    check_error(parse_options({"--ip", ip, "--mtu", "1500x"}), "--mtu");
    check_error(parse_options({"--ip", ip, "--mtu", "-1500"}), "--mtu");
    check_error(parse_options({"--ip", ip, "--port", "65536"}), "--port");
    check_error(parse_options({"--ip", ip, "--port", ""}), "--port");
    check_error(parse_options({"--ip", ip, "--rx-desc", "31"}), "--rx-desc");
    check_error(parse_options({"--ip", ip, "--tx-desc", "99999"}), "--tx-desc");
    check_error(parse_options({"--ip", ip, "--tx-desc", " 64"}), "--tx-desc");
    check_error(parse_options({"--ip", ip, "--impair", "loss=1.5"}), "--impair");
    check_error(parse_options({"--ip", ip, "--impair", "bogus=1"}), "--impair");
    check_error(parse_options({"--ip", ip, "--syncookies", "3"}), "--syncookies");
    check_error(parse_options({"--ip", ip, "--syncookies", "11"}), "--syncookies");
    check_error(parse_options({"--ip", ip, "--syncookies", ""}), "--syncookies");
    // A value-taking option at the very end has no value.
    check_error(parse_options({"--ip", ip, "--mtu"}), "--mtu");
    check_error(parse_options({"--ip"}), "--ip");
    // Edges that are fine.
    CHECK(parse_options({"--ip", ip, "--mtu", "576"}));
    CHECK(parse_options({"--ip", ip, "--mtu", "9216"}));
    CHECK(parse_options({"--ip", ip, "--port", "65535"}));
    CHECK(parse_options({"--ip", ip, "--rx-desc", "32"}));
}

TEST_CASE("options: unknown arguments are left for the program, by index, in order", "[runtime]") {
    const Args args = {"--verbose", "--ip", "198.18.0.2/24", "file.txt", "--no-offload", "-n", "5",
                       "--gw",      "198.18.0.1", "--"};
    const OptionsParse r = parse_options(args);
    REQUIRE(r);
    CHECK(r.rest == std::vector<std::size_t>{0, 3, 5, 6, 9});
    CHECK_FALSE(r.options.offloads);
    CHECK(r.options.gateway == Ipv4Address(198, 18, 0, 1));
    // The value of a known option is consumed with it, never reported as unknown.
    const OptionsParse s = parse_options({"--port", "7", "--ip", "198.18.0.2/24"});
    REQUIRE(s);
    CHECK(s.rest.empty());
    CHECK(s.options.port_id == 7);
}
