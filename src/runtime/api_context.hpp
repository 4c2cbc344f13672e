// ApiContext: what the C socket API (src/api) needs from the runtime — the shard its
// sockets live on, which thread may call it, and whether a blocking call should give up.
//
// px_init attaches the runtime's shard and makes the calling thread the owner; px_fini
// detaches it. A test or a harness may attach any Shard it drives itself (a SimLink and a
// ManualClock), which is how the socket API is exercised deterministically.
//
// Contract: attach/detach and every API call happen on the owner thread (threaded mode,
// where any thread may call, is a later step). stop_requested() may be read anywhere.
#pragma once

#include <thread>

#include "runtime/shard.hpp"

namespace pollux::runtime {

struct ApiContext {
    Shard* shard = nullptr;
    std::thread::id owner;
    // True while px_run's function runs: the loop flushes transmit right after it, so a
    // send need not flush on its own.
    bool in_run_callback = false;
    // The shard runs on a clock that moves only when its program says (a harness,
    // include/pollux/harness.h): nothing can arrive or expire while a call waits, so a
    // blocking call returns as a non-blocking one would instead of spinning forever.
    bool manual_clock = false;
};

ApiContext& api_context() noexcept;

// Makes `shard` the one the API works on, owned by the calling thread.
void attach_api(Shard& shard, bool manual_clock = false) noexcept;
// Closes every socket (through the hook the API registered) and forgets the shard.
void detach_api() noexcept;
// The API's "close every socket" function, run by detach_api().
void set_api_teardown(void (*close_all)()) noexcept;

// px_stop() was called (or SIGINT/SIGTERM arrived): blocking calls return EINTR.
bool stop_requested() noexcept;

}  // namespace pollux::runtime
