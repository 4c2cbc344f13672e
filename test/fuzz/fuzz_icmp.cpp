// libFuzzer target: an ICMPv4 message (the IPv4 payload), including the quoted datagram
// of dest_unreachable and time_exceeded. check_icmp parses with and without checksum
// verification; the unchecked parse lets the fuzzer reach past the checksum.
#include <cstddef>
#include <cstdint>

#include "wire_checks.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    pollux::fuzz::check_icmp({data, size}, pollux::wire::ChecksumCheck::verify);
    return 0;
}
