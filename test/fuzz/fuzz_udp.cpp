// libFuzzer target: a UDP datagram (the IPv4 payload) from 198.18.0.1 to 198.18.0.2; the
// seed corpus computes its checksums over that pseudo-header.
#include <cstddef>
#include <cstdint>

#include "wire_checks.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace pollux::fuzz;
    check_udp({data, size}, transport_src, transport_dst, pollux::wire::ChecksumCheck::verify);
    return 0;
}
