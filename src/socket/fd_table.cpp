#include "socket/fd_table.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <stdexcept>
#include <string>

namespace pollux::socket {

namespace {

constexpr std::uint64_t kFull = ~std::uint64_t{0};

std::size_t words_for(std::size_t bits) noexcept { return (bits + 63) / 64; }

// Bits [from, 64) of a word set: the padding past the last real bit of a level.
std::uint64_t padding_from(std::size_t from) noexcept {
    return from % 64 == 0 ? 0 : kFull << (from % 64);
}

}  // namespace

std::uint64_t kernel_fd_ceiling() {
    std::uint64_t ceiling = 0;
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
        ceiling = limit.rlim_max == RLIM_INFINITY ? UINT64_MAX : limit.rlim_max;
    }
    if (std::FILE* f = std::fopen("/proc/sys/fs/nr_open", "r")) {
        unsigned long long nr_open = 0;
        if (std::fscanf(f, "%llu", &nr_open) == 1) ceiling = std::max<std::uint64_t>(ceiling, nr_open);
        std::fclose(f);
    }
    return ceiling;
}

UntypedFdTable::UntypedFdTable(std::size_t capacity)
    : UntypedFdTable(capacity, kernel_fd_ceiling()) {}

UntypedFdTable::UntypedFdTable(std::size_t capacity, std::uint64_t kernel_fd_ceiling)
    : capacity_(capacity) {
    if (capacity == 0 || capacity > kMaxFdCapacity) {
        throw std::invalid_argument("FdTable: capacity must be in [1, 2^30]");
    }
    if (kernel_fd_ceiling > static_cast<std::uint64_t>(kFdBase)) {
        throw std::runtime_error(
            "FdTable: the kernel may hand out fd numbers up to " + std::to_string(kernel_fd_ceiling - 1) +
            ", which reaches pollux's fd range at " + std::to_string(kFdBase) +
            "; lower fs.nr_open (and RLIMIT_NOFILE) to at most " + std::to_string(kFdBase));
    }

    // Level k has one bit per word of level k-1; stop at the first one-word level.
    std::size_t bits = capacity;
    std::size_t total = 0;
    for (;;) {
        const std::size_t count = words_for(bits);
        levels_[level_count_++] = Level{total, count};
        total += count;
        if (count == 1) break;
        bits = count;
    }
    words_.assign(total, 0);
    bits = capacity;
    for (std::size_t k = 0; k < level_count_; ++k) {
        word(k, levels_[k].count - 1) = padding_from(bits);
        bits = levels_[k].count;
    }
    slots_ = std::make_unique<std::atomic<void*>[]>(capacity);
    for (std::size_t i = 0; i < capacity; ++i) slots_[i].store(nullptr, std::memory_order_relaxed);
}

std::size_t UntypedFdTable::find_free() const noexcept {
    // Descend from the one-word top level; each level's lowest zero bit names the word of
    // the level below that still has a zero, so the leaf bit found is the lowest free.
    std::size_t i = 0;
    for (std::size_t k = level_count_; k-- > 0;) {
        const std::uint64_t w = words_[levels_[k].offset + i];
        if (w == kFull) return capacity_;  // only the top level can be full here
        i = i * 64 + static_cast<std::size_t>(std::countr_zero(~w));
    }
    return i;
}

void UntypedFdTable::mark_open(std::size_t bit) noexcept {
    // Set the bit; when that fills its word, the summary bit one level up becomes 1 too.
    for (std::size_t k = 0; k < level_count_; ++k) {
        std::uint64_t& w = word(k, bit / 64);
        w |= std::uint64_t{1} << (bit % 64);
        if (w != kFull) return;
        bit /= 64;
    }
}

void UntypedFdTable::mark_free(std::size_t bit) noexcept {
    // Clear the bit; if its word was full, the summary bit above was 1 and clears too.
    for (std::size_t k = 0; k < level_count_; ++k) {
        std::uint64_t& w = word(k, bit / 64);
        const bool was_full = w == kFull;
        w &= ~(std::uint64_t{1} << (bit % 64));
        if (!was_full) return;
        bit /= 64;
    }
}

int UntypedFdTable::install(void* object) noexcept {
    if (object == nullptr) return -EINVAL;
    std::lock_guard guard(lock_);
    const std::size_t i = find_free();
    if (i == capacity_) return -EMFILE;
    mark_open(i);
    size_.fetch_add(1, std::memory_order_relaxed);
    // Release: a get() that loads this pointer sees the object as the caller built it.
    slots_[i].store(object, std::memory_order_release);
    return kFdBase + static_cast<int>(i);
}

void* UntypedFdTable::remove(int fd) noexcept {
    const std::size_t i = index(fd);
    if (i >= capacity_) return nullptr;
    std::lock_guard guard(lock_);
    void* object = slots_[i].exchange(nullptr, std::memory_order_acq_rel);
    if (object == nullptr) return nullptr;
    mark_free(i);
    size_.fetch_sub(1, std::memory_order_relaxed);
    return object;
}

int UntypedFdTable::next_open(int from) const noexcept {
    std::size_t i = from < kFdBase ? 0 : index(from);
    if (i >= capacity_) return -1;
    std::lock_guard guard(lock_);
    const std::uint64_t* leaf = words_.data() + levels_[0].offset;
    const std::size_t count = levels_[0].count;
    // Padding bits of the last word are 1 as well; the capacity check below drops them.
    std::uint64_t w = leaf[i / 64] & (kFull << (i % 64));
    for (std::size_t wi = i / 64;;) {
        if (w != 0) {
            const std::size_t bit = wi * 64 + static_cast<std::size_t>(std::countr_zero(w));
            return bit < capacity_ ? kFdBase + static_cast<int>(bit) : -1;
        }
        if (++wi == count) return -1;
        w = leaf[wi];
    }
}

}  // namespace pollux::socket
