// libFuzzer target: an IPv4 packet (header, options skipped, payload, link padding).
// check_ipv4 parses both with and without checksum verification and compares the two.
#include <cstddef>
#include <cstdint>

#include "wire_checks.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    pollux::fuzz::check_ipv4({data, size}, pollux::wire::ChecksumCheck::verify);
    return 0;
}
