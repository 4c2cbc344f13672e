// The Internet checksum over a whole mbuf chain, whose segments may have odd lengths.
#pragma once

#include <cstdint>

#include "buf/packet_buf.hpp"

namespace pollux::buf {

// One's-complement partial sum of the packet's bytes from `offset` to the end, added to
// `initial` (combine with wire::fold / the pseudo-header sum as for a span).
std::uint32_t partial_sum(const PacketBuf& packet, std::uint32_t offset = 0, std::uint32_t initial = 0) noexcept;

}  // namespace pollux::buf
