// libFuzzer target: a TCP option list alone (what follows the fixed 20-byte header). The
// parser is given whatever length the fuzzer makes, not only the 40 bytes a header can
// hold, so its bounds checks are exercised on their own.
#include <cstddef>
#include <cstdint>

#include "wire_checks.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    pollux::fuzz::check_tcp_options({data, size});
    return 0;
}
