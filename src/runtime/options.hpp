// pollux's own command-line options, shared by every program (after the EAL arguments
// and a `--`):
//
//   --ip ADDR/LEN      our IPv4 address and connected subnet (required)
//   --gw ADDR          default gateway
//   --mtu N            IP MTU to set on the port (default: the port's)
//   --port N           DPDK port id (default 0)
//   --rx-desc N / --tx-desc N   ring sizes (default 1024)
//   --impair SPEC      seeded impairments on transmit, e.g. loss=0.02,reorder=0.05,seed=7
//   --no-offload       compute every checksum in software
//
// Options a program adds for itself come after these and are left to it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "phy/impairment.hpp"
#include "wire/address.hpp"

namespace pollux::runtime {

struct Options {
    std::optional<wire::Ipv4Cidr> ip;
    std::optional<wire::Ipv4Address> gateway;
    std::uint16_t mtu = 0;
    std::uint16_t port_id = 0;
    std::uint16_t rx_desc = 1024;
    std::uint16_t tx_desc = 1024;
    std::optional<phy::ImpairmentConfig> impair;
    bool offloads = true;
    int syn_cookies = 1;  // --syncookies, as net.ipv4.tcp_syncookies (tcp_layer.hpp)
};

struct OptionsParse {
    Options options;
    std::string error;               // one line; empty on success
    std::vector<std::size_t> rest;   // indices in `args` of the arguments pollux does not know
    explicit operator bool() const noexcept { return error.empty(); }
};

// Parses pollux's options out of `args` (what follows the EAL's `--`). Unknown arguments
// are returned in `rest` for the program; a known option with a bad value is an error.
OptionsParse parse_options(const std::vector<std::string>& args);

// The usage text of the options above.
const char* options_usage() noexcept;

}  // namespace pollux::runtime
