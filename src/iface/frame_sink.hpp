// Where the interface hands finished frames: the shard's tx burst buffer in a real run, a
// capturing sink in tests.
#pragma once

#include "buf/packet_buf.hpp"

namespace pollux::iface {

class FrameSink {
public:
    virtual ~FrameSink() = default;
    // Takes the frame (starting at the Ethernet header). The sink owns it from now on,
    // including when it has to drop it.
    virtual void transmit(buf::PacketBuf&& frame) noexcept = 0;
};

}  // namespace pollux::iface
