#include "runtime/api_context.hpp"

namespace pollux::runtime {

namespace {
ApiContext g_context;
void (*g_teardown)() = nullptr;
}  // namespace

ApiContext& api_context() noexcept { return g_context; }

void attach_api(Shard& shard, bool manual_clock) noexcept {
    g_context.shard = &shard;
    g_context.owner = std::this_thread::get_id();
    g_context.in_run_callback = false;
    g_context.manual_clock = manual_clock;
}

void detach_api() noexcept {
    if (g_teardown != nullptr) g_teardown();
    g_context = ApiContext{};
}

void set_api_teardown(void (*close_all)()) noexcept { g_teardown = close_all; }

}  // namespace pollux::runtime
