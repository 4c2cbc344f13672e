#include "runtime/options.hpp"

#include <charconv>

namespace pollux::runtime {

namespace {

bool parse_u16(const std::string& s, std::uint16_t min, std::uint16_t& out) {
    unsigned v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size() || v < min || v > 65535) return false;
    out = static_cast<std::uint16_t>(v);
    return true;
}

// Why `cidr` cannot be a host's own address (RFC 1122 §3.2.1.3, RFC 1812 §4.2.2.11), or
// null when it can. On /31 and /32 every address is a host (RFC 3021).
const char* unusable_host_address(const wire::Ipv4Cidr& cidr) {
    const wire::Ipv4Address a = cidr.address();
    if (a.is_multicast()) return "a multicast address cannot be a host's address";
    if ((a.value() >> 28) == 0xf) return "class E (240.0.0.0/4) addresses are reserved";
    if (a.is_loopback()) return "127.0.0.0/8 is loopback, not for a NIC";
    if (cidr.prefix_len() < 31 && a == cidr.network()) return "that is the subnet's network address";
    if (cidr.prefix_len() < 31 && a == cidr.subnet_broadcast()) return "that is the subnet's broadcast address";
    return nullptr;
}

}  // namespace

const char* options_usage() noexcept {
    return "pollux options (after the EAL arguments and --):\n"
           "  --ip ADDR/LEN     our IPv4 address and subnet, e.g. 198.18.0.2/24 (required)\n"
           "  --gw ADDR         default gateway\n"
           "  --mtu N           IP MTU to set on the port (default: the port's)\n"
           "  --port N          DPDK port id (default 0)\n"
           "  --rx-desc N       rx ring size (default 1024)\n"
           "  --tx-desc N       tx ring size (default 1024)\n"
           "  --impair SPEC     seeded impairments on transmit: loss=P,duplicate=P,reorder=P,\n"
           "                    corrupt=P,delay=5ms,jitter=1ms,rate=50mbit,seed=N\n"
           "  --syncookies N    SYN cookies (RFC 4987): 0 never, 1 when a SYN queue is full\n"
           "                    (default), 2 always; as Linux's net.ipv4.tcp_syncookies\n"
           "  --no-offload      compute every checksum in software\n";
}

OptionsParse parse_options(const std::vector<std::string>& args) {
    OptionsParse r;
    Options& o = r.options;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        const bool takes_value = a == "--ip" || a == "--gw" || a == "--mtu" || a == "--port" || a == "--rx-desc" ||
                                 a == "--tx-desc" || a == "--impair" || a == "--syncookies";
        if (!takes_value) {
            if (a == "--no-offload") {
                o.offloads = false;
            } else {
                r.rest.push_back(i);
            }
            continue;
        }
        if (i + 1 == args.size()) {
            r.error = a + " needs a value (see --help)";
            return r;
        }
        const std::string& v = args[++i];
        if (a == "--ip") {
            o.ip = wire::Ipv4Cidr::parse(v);
            if (!o.ip || o.ip->address().is_unspecified() || o.ip->prefix_len() == 0) {
                r.error = "--ip " + v + ": expected ADDR/LEN, e.g. 198.18.0.2/24";
                return r;
            }
            if (const char* why = unusable_host_address(*o.ip)) {
                r.error = "--ip " + v + ": " + why;
                return r;
            }
        } else if (a == "--gw") {
            o.gateway = wire::Ipv4Address::parse(v);
            if (!o.gateway) {
                r.error = "--gw " + v + ": expected an IPv4 address";
                return r;
            }
        } else if (a == "--mtu") {
            // RFC 791: every host must accept 576; Ethernet jumbo frames stop near 9216.
            if (!parse_u16(v, 576, o.mtu) || o.mtu > 9216) {
                r.error = "--mtu " + v + ": expected 576..9216";
                return r;
            }
        } else if (a == "--port") {
            if (!parse_u16(v, 0, o.port_id)) {
                r.error = "--port " + v + ": expected a DPDK port id";
                return r;
            }
        } else if (a == "--rx-desc" || a == "--tx-desc") {
            std::uint16_t& d = a == "--rx-desc" ? o.rx_desc : o.tx_desc;
            if (!parse_u16(v, 32, d)) {
                r.error = a + " " + v + ": expected 32..65535";
                return r;
            }
        } else if (a == "--syncookies") {
            if (v != "0" && v != "1" && v != "2") {
                r.error = "--syncookies " + v + ": expected 0, 1 or 2";
                return r;
            }
            o.syn_cookies = v[0] - '0';
        } else if (a == "--impair") {
            auto parsed = phy::parse_impairment(v);
            if (!parsed) {
                r.error = "--impair: " + parsed.error;
                return r;
            }
            o.impair = *parsed.config;
        }
    }
    if (!o.ip) {
        r.error = "--ip ADDR/LEN is required, e.g. -- --ip 198.18.0.2/24";
    } else if (o.gateway && !o.ip->contains(*o.gateway)) {
        // Like Linux's "Nexthop has invalid gateway": a gateway must be on-link.
        r.error = "--gw " + o.gateway->to_string() + ": not in " + o.ip->to_string() + " (a gateway must be on-link)";
    } else if (o.gateway && *o.gateway == o.ip->address()) {
        r.error = "--gw " + o.gateway->to_string() + ": that is our own address";
    }
    return r;
}

}  // namespace pollux::runtime
