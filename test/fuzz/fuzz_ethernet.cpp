// libFuzzer target: an Ethernet II header (optionally one 802.1Q tag) at the start of a frame.
#include <cstddef>
#include <cstdint>

#include "wire_checks.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    pollux::fuzz::check_ethernet({data, size});
    return 0;
}
