// Counter: one statistic of a shard (packets in, drops by reason, ...), like a field of
// Linux's `netstat -s` MIBs.
//
// Contract: only the owning shard's thread adds; any thread (DPDK telemetry, a test) may
// read. Both go through std::atomic_ref with relaxed order, which on x86-64 compiles to a
// plain load/add/store (no lock prefix), so the hot path pays nothing and readers never
// see a torn value. A reader may see a slightly old value; that is fine for statistics.
#pragma once

#include <atomic>
#include <cstdint>

namespace pollux::stats {

class Counter {
public:
    void add(std::uint64_t n = 1) noexcept {
        std::atomic_ref<std::uint64_t> r(value_);
        r.store(r.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    }
    // For gauges (e.g. bytes held) that go down as well as up.
    void sub(std::uint64_t n = 1) noexcept {
        std::atomic_ref<std::uint64_t> r(value_);
        r.store(r.load(std::memory_order_relaxed) - n, std::memory_order_relaxed);
    }
    std::uint64_t get() const noexcept {
        return std::atomic_ref<std::uint64_t>(value_).load(std::memory_order_relaxed);
    }

private:
    alignas(std::uint64_t) mutable std::uint64_t value_ = 0;
};

}  // namespace pollux::stats
