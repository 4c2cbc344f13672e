#include "buf/packet_queue.hpp"

#include <cstring>
#include <stdexcept>
#include <string>

#include <rte_errno.h>

namespace pollux::buf {

void PacketQueue::register_link_field() {
    // A function-local static: its initialisation runs once, under the compiler's guard
    // (thread-safe), and is tried again by the next call if it throws. Registering the
    // same name with the same size and alignment again would also just return the offset.
    static const int offset = [] {
        rte_mbuf_dynfield desc{};
        static_assert(std::char_traits<char>::length(link_field_name) < sizeof desc.name);
        std::memcpy(desc.name, link_field_name, std::strlen(link_field_name) + 1);
        desc.size = sizeof(Link);
        desc.align = alignof(Link);
        const int off = rte_mbuf_dynfield_register(&desc);
        if (off < 0) {
            throw std::runtime_error(std::string("rte_mbuf_dynfield_register(") + link_field_name +
                                     ", " + std::to_string(sizeof(Link)) + " bytes) failed: " +
                                     rte_strerror(rte_errno));
        }
        link_offset_ = off;
        return off;
    }();
    static_cast<void>(offset);
}

PacketQueue::PacketQueue() { register_link_field(); }

void PacketQueue::clear() noexcept {
    for (rte_mbuf* m = head_; m != nullptr;) {
        rte_mbuf* next = link(m).next;
        rte_pktmbuf_free(m);  // the whole segment chain
        m = next;
    }
    head_ = nullptr;
    tail_ = nullptr;
    size_ = 0;
    footprint_ = 0;
}

}  // namespace pollux::buf
