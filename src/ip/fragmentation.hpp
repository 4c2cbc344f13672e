// IPv4 fragmentation on output (RFC 791 §3.2, "fragmentation"; RFC 8900 on why it is a
// last resort: TCP keeps under the path MTU, so this serves UDP, raw and ICMP datagrams).
//
// Zero copy: each fragment is a fresh mbuf holding only the 20-byte header, chained to
// indirect mbufs that point into the datagram's own buffers (PacketBuf::clone_range). No
// payload byte is copied; the datagram's buffers live until the last fragment is sent.
// A fragment is therefore 2+ segments: the port must accept multi-segment packets
// (RTE_ETH_TX_OFFLOAD_MULTI_SEGS), which every PMD pollux drives does.
//
// All or nothing: the fragments are built first and handed to the sink only when all of
// them exist, so a pool that runs dry midway sends no partial datagram.
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>
#include <utility>

#include "buf/packet_buf.hpp"
#include "wire/ipv4.hpp"

namespace pollux::ip {

// RFC 791: "Every internet module must be able to forward a datagram of 68 octets without
// further fragmentation." No link may have a smaller MTU, and below it a fragment could
// not carry the 8-byte minimum after a 60-byte header.
inline constexpr std::uint16_t min_mtu = 68;

// The fragments of one datagram while they are built: fixed capacity, no heap. At the
// minimum MTU a fragment carries 48 bytes, so the largest datagram (65515 payload bytes)
// makes at most 1365 fragments; the batch is 11 KiB, meant to live on the stack.
class FragmentBatch {
public:
    static constexpr std::size_t min_payload = (min_mtu - wire::ipv4::min_header_len) / 8 * 8;
    static constexpr std::size_t max_payload = wire::ipv4::max_packet_len - wire::ipv4::min_header_len;
    static constexpr std::size_t capacity = (max_payload + min_payload - 1) / min_payload;

    FragmentBatch() noexcept {}  // NOLINT: the storage stays uninitialised on purpose
    ~FragmentBatch() { clear(); }
    FragmentBatch(const FragmentBatch&) = delete;
    FragmentBatch& operator=(const FragmentBatch&) = delete;

    std::size_t size() const noexcept { return size_; }
    bool push(buf::PacketBuf&& p) noexcept {
        if (size_ == capacity) return false;
        new (&storage_.items[size_]) buf::PacketBuf(std::move(p));
        ++size_;
        return true;
    }
    // Frees every fragment held.
    void clear() noexcept {
        for (std::size_t i = 0; i < size_; ++i) storage_.items[i].~PacketBuf();
        size_ = 0;
    }
    // Hands each fragment, in order, to `sink(PacketBuf&&)`; the batch is empty after.
    template <typename Sink>
    void drain(Sink&& sink) {
        for (std::size_t i = 0; i < size_; ++i) {
            sink(std::move(storage_.items[i]));
            storage_.items[i].~PacketBuf();  // frees whatever the sink did not take
        }
        size_ = 0;
    }

private:
    // A union, so that the 1365 handles are not constructed (zeroed) per datagram: only the
    // first size_ hold a live PacketBuf.
    union Storage {
        Storage() noexcept {}
        ~Storage() {}
        buf::PacketBuf items[capacity];
    };
    Storage storage_;
    std::size_t size_ = 0;
};

// Builds the fragments of `datagram` into `out` (empty on entry). `datagram` holds the IP
// payload only (the transport header and data, its checksum final: no port can offload an
// L4 checksum over fragments); `ip` is the header to put on each fragment (ident chosen by
// the caller; payload_len and header_len are ignored, no options are emitted). Each
// fragment is a 20-byte header emitted by Ipv4Repr::emit (checksum computed), then its
// share of the payload: a multiple of 8 bytes except in the last, every fragment at most
// `mtu` bytes in all. Fragment offsets start at ip.frag_offset and the last fragment keeps
// ip.more_fragments, so a fragment can itself be cut again.
//
// A datagram that fits in `mtu` comes out as one packet (no fragment fields changed).
// Returns false, with `out` empty and `datagram` left as it was (the caller still owns
// it), when: ip.dont_fragment is set and the datagram does not fit (the caller answers
// EMSGSIZE or ICMP fragmentation needed); `mtu` is below min_mtu and fragmenting is
// needed; the datagram would end past 65535 bytes; `pool` runs dry. On success `datagram`
// is consumed (empty).
bool build_fragments(buf::PacketBuf&& datagram, const wire::Ipv4Repr& ip, std::uint16_t mtu,
                     rte_mempool* pool, FragmentBatch& out) noexcept;

// build_fragments(), then each fragment, in offset order, to `emit(PacketBuf&&)` as a
// packet starting at its IPv4 header. Nothing is emitted when it returns false.
template <typename Sink>
bool fragment(buf::PacketBuf&& datagram, const wire::Ipv4Repr& ip, std::uint16_t mtu, rte_mempool* pool,
              Sink&& emit) {
    FragmentBatch batch;
    if (!build_fragments(std::move(datagram), ip, mtu, pool, batch)) return false;
    batch.drain(emit);
    return true;
}

}  // namespace pollux::ip
