#include "buf/checksum.hpp"

#include "wire/checksum.hpp"

namespace pollux::buf {

std::uint32_t partial_sum(const PacketBuf& packet, std::uint32_t offset, std::uint32_t initial) noexcept {
    // Bytes are summed as big-endian 16-bit words of the whole packet. A segment that
    // starts at an odd position of the packet has its words shifted by one byte, and a
    // one's-complement sum of byte-swapped words is the byte-swapped sum (RFC 1071 §2(B)),
    // so such a segment's sum is swapped before it is added.
    std::uint64_t sum = initial;
    bool odd = false;
    for (auto seg : packet.segments()) {
        if (offset >= seg.size()) {
            offset -= static_cast<std::uint32_t>(seg.size());
            continue;
        }
        seg = seg.subspan(offset);
        offset = 0;
        std::uint32_t s = wire::fold(wire::partial_sum(seg));
        if (odd) s = ((s & 0xff) << 8) | (s >> 8);
        sum += s;
        odd ^= (seg.size() & 1) != 0;
    }
    return static_cast<std::uint32_t>(wire::fold(sum));
}

}  // namespace pollux::buf
