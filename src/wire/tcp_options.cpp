#include "wire/tcp_options.hpp"

#include <algorithm>
#include <cassert>

#include "wire/byte_order.hpp"

namespace pollux::wire {

namespace {

constexpr auto kind(TcpOptionKind k) noexcept { return static_cast<std::uint8_t>(k); }

// Bytes of everything but the SACK blocks.
std::size_t fixed_len(const TcpOptions& o) noexcept {
    std::size_t n = 0;
    if (o.mss) n += tcp_option::mss_len;
    if (o.timestamps) {
        n += 12;  // SACK-permitted + TS, or NOP NOP + TS
    } else if (o.sack_permitted) {
        n += 4;  // NOP NOP + SACK-permitted
    }
    if (o.window_scale) n += 4;  // NOP + WS
    return n;
}

}  // namespace

Result<TcpOptions> TcpOptions::parse(std::span<const std::uint8_t> b) noexcept {
    TcpOptions o;
    std::size_t i = 0;
    while (i < b.size()) {
        const std::uint8_t k = b[i];
        if (k == kind(TcpOptionKind::end)) break;
        if (k == kind(TcpOptionKind::nop)) {
            ++i;
            continue;
        }
        if (b.size() - i < 2) return WireError::malformed;  // a kind with no length byte
        const std::uint8_t len = b[i + 1];
        if (len < 2) return WireError::malformed;           // 0 or 1 would never advance
        if (len > b.size() - i) return WireError::malformed;  // runs past the header
        const std::uint8_t* v = b.data() + i + 2;  // may equal end() when len == 2
        switch (static_cast<TcpOptionKind>(k)) {
            case TcpOptionKind::mss:
                if (len == tcp_option::mss_len) o.mss = load_be16(v);
                break;
            case TcpOptionKind::window_scale:
                if (len == tcp_option::window_scale_len) o.window_scale = v[0];
                break;
            case TcpOptionKind::sack_permitted:
                if (len == tcp_option::sack_permitted_len) o.sack_permitted = true;
                break;
            case TcpOptionKind::timestamps:
                if (len == tcp_option::timestamps_len) o.timestamps = TcpTimestamps{load_be32(v), load_be32(v + 4)};
                break;
            case TcpOptionKind::sack: {
                const std::size_t body = len - 2u;
                const std::size_t n = body / tcp_option::sack_block_len;
                if (body % tcp_option::sack_block_len != 0 || n == 0 || n > tcp_option::max_sack_blocks) break;
                o.sack_count = static_cast<std::uint8_t>(n);
                for (std::size_t j = 0; j < n; ++j) {
                    const std::uint8_t* blk = v + j * tcp_option::sack_block_len;
                    o.sack_blocks[j] = SackBlock{SeqNum(load_be32(blk)), SeqNum(load_be32(blk + 4))};
                }
                break;
            }
            default:
                break;  // unknown: skipped by its length
        }
        i += len;
    }
    return o;
}

std::size_t TcpOptions::sack_blocks_that_fit() const noexcept {
    const std::size_t room = tcp_option::max_len - std::min(fixed_len(*this), tcp_option::max_len);
    if (room < 4 + tcp_option::sack_block_len) return 0;
    return std::min<std::size_t>(sack_count, (room - 4) / tcp_option::sack_block_len);
}

std::size_t TcpOptions::buffer_len() const noexcept {
    const std::size_t blocks = sack_blocks_that_fit();
    return fixed_len(*this) + (blocks > 0 ? 4 + blocks * tcp_option::sack_block_len : 0);
}

void TcpOptions::emit(std::span<std::uint8_t> out) const noexcept {
    assert(out.size() >= buffer_len());
    std::uint8_t* p = out.data();
    const auto put = [&p](std::uint8_t byte) { *p++ = byte; };
    if (mss) {
        put(kind(TcpOptionKind::mss));
        put(tcp_option::mss_len);
        store_be16(p, *mss);
        p += 2;
    }
    if (timestamps) {
        if (sack_permitted) {
            put(kind(TcpOptionKind::sack_permitted));
            put(tcp_option::sack_permitted_len);
        } else {
            put(kind(TcpOptionKind::nop));
            put(kind(TcpOptionKind::nop));
        }
        put(kind(TcpOptionKind::timestamps));
        put(tcp_option::timestamps_len);
        store_be32(p, timestamps->value);
        store_be32(p + 4, timestamps->echo);
        p += 8;
    } else if (sack_permitted) {
        put(kind(TcpOptionKind::nop));
        put(kind(TcpOptionKind::nop));
        put(kind(TcpOptionKind::sack_permitted));
        put(tcp_option::sack_permitted_len);
    }
    if (window_scale) {
        put(kind(TcpOptionKind::nop));
        put(kind(TcpOptionKind::window_scale));
        put(tcp_option::window_scale_len);
        put(*window_scale);
    }
    if (const std::size_t blocks = sack_blocks_that_fit(); blocks > 0) {
        put(kind(TcpOptionKind::nop));
        put(kind(TcpOptionKind::nop));
        put(kind(TcpOptionKind::sack));
        put(static_cast<std::uint8_t>(2 + blocks * tcp_option::sack_block_len));
        for (std::size_t j = 0; j < blocks; ++j) {
            store_be32(p, sack_blocks[j].left.raw());
            store_be32(p + 4, sack_blocks[j].right.raw());
            p += 8;
        }
    }
    assert(static_cast<std::size_t>(p - out.data()) == buffer_len());
}

bool TcpOptions::operator==(const TcpOptions& o) const noexcept {
    if (mss != o.mss || window_scale != o.window_scale || sack_permitted != o.sack_permitted ||
        timestamps != o.timestamps || sack_count != o.sack_count) {
        return false;
    }
    return std::equal(sacks().begin(), sacks().end(), o.sacks().begin());
}

}  // namespace pollux::wire
