// /pollux/sockets: every TCP socket of the shard, as `ss -tin` lists them, over DPDK
// telemetry.
//
// Threads. The telemetry callback runs on a DPDK telemetry thread (one per connected
// client), while every socket belongs to the shard's thread (tcp_layer.hpp's contract). The
// counters of /pollux/stats can be read from anywhere (stats::Counter is atomic), but a
// socket list cannot: walking hash tables that the shard is changing is a data race, and
// locking them would put a lock on the data path (DESIGN.md §5 rule 6). So the shard
// answers a request instead:
//   1. the telemetry thread sets `requested_` (an atomic) and waits on a condition
//      variable, at most answer_timeout;
//   2. a timer on the shard's own wheel, every poll_period, reads the flag (one relaxed
//      load: that is all the poll loop pays); when set, the shard walks its sockets and
//      writes the rows into a buffer reserved at start, under `mutex_`, bumps the
//      generation and notifies;
//   3. the telemetry thread formats the rows (the rte_tel_data calls allocate: they must
//      not run on the shard) under the same mutex.
// The shard takes the mutex only when a request is pending, so the inline path never
// contends; the rows are one consistent snapshot taken between two packets. A timer rather
// than a check in px_run's loop: blocking calls and px_epoll_wait poll the shard from
// inside the application, and the wheel runs in every poll_once() whoever calls it. If the
// shard does not poll (the application is stuck elsewhere), the request times out and the
// answer says so.
//
// Output bound. DPDK 22.11 sends at most 16 KiB per answer (telemetry.c MAX_OUTPUT_LEN,
// the "max_output_len" of its hello) and a dictionary holds at most RTE_TEL_MAX_DICT_ENTRIES
// (256) entries; a row is a nested dictionary, and an entry that does not fit is silently
// dropped by DPDK. So the rows are counted exactly as JSON as they are added, and those
// that would pass the budget are left out and counted in "omitted".
#pragma once

#include <netinet/tcp.h>

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>

#include "runtime/shard.hpp"
#include "time/timer_wheel.hpp"
#include "wire/endpoint.hpp"

struct rte_tel_data;

namespace pollux::runtime {

class SocketsTelemetry {
public:
    static constexpr const char* command = "/pollux/sockets";
    static constexpr time::Duration poll_period = time::Duration::from_ms(10);
    static constexpr time::Duration answer_timeout = time::Duration::from_ms(500);
    // More rows than 16 KiB of JSON can hold (the smallest row, a listener, is ~100 bytes).
    static constexpr std::size_t max_rows = 192;

    // One socket, as the shard saw it.
    struct Row {
        wire::Endpoint local;
        wire::Endpoint remote;
        std::uint32_t recv_q = 0;  // unread bytes; a listener: its accept queue
        std::uint32_t send_q = 0;  // unacknowledged + unsent bytes; a listener: its backlog
        std::uint32_t syn_queue = 0;  // a listener's children in SYN-RECEIVED
        const char* congestion = "";  // static strings only (CongestionControl::name())
        struct tcp_info info {};
    };

    // On the shard's thread, after the shard started: arms the timer on its wheel.
    explicit SocketsTelemetry(Shard& shard);
    // On the shard's thread, before the shard goes.
    ~SocketsTelemetry();
    SocketsTelemetry(const SocketsTelemetry&) = delete;
    SocketsTelemetry& operator=(const SocketsTelemetry&) = delete;

    // The telemetry callback's body (any thread but the shard's): fills `d`.
    void answer(rte_tel_data* d);

    // The shard's side, run by the timer; public for tests that drive a shard by hand.
    void serve_pending_request() noexcept;

private:
    static void on_tick(time::Timer& timer, time::Instant now, void* self) noexcept;
    void take_snapshot() noexcept;  // under mutex_

    Shard& shard_;
    time::Timer timer_;
    std::atomic<bool> requested_{false};
    std::mutex mutex_;
    std::condition_variable answered_;
    // Under mutex_:
    std::uint64_t generation_ = 0;
    std::size_t total_ = 0;  // sockets seen (rows_ holds the first max_rows of them)
    std::size_t count_ = 0;
    std::array<Row, max_rows> rows_{};
};

}  // namespace pollux::runtime
