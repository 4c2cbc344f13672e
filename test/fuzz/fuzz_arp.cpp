// libFuzzer target: an ARP packet (the payload of an Ethernet frame of type 0x0806).
#include <cstddef>
#include <cstdint>

#include "wire_checks.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    pollux::fuzz::check_arp({data, size});
    return 0;
}
