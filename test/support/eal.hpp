// Test support: one DPDK EAL per test binary, started by the test main, and a shared
// mbuf pool, so unit tests use real rte_mbufs.
#pragma once

struct rte_mempool;

namespace pollux::test {

// A pool of 2,048 mbufs with the default data room, created on first use.
rte_mempool* mbuf_pool();

}  // namespace pollux::test
