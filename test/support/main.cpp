// The Catch2 main of every unit-test binary.
//
// - Starts one EAL per binary (TESTBED.md): --no-huge so no hugepages are needed,
//   --no-pci so the machine's NIC is never probed, --no-shconf so parallel test binaries
//   share no runtime directory.
// - Counts test cases (not assertions) and, when POLLUX_TEST_REPORT_DIR is set, writes
//   "<passed> <failed>" to <dir>/<binary>.counts for scripts/test.sh's closing line.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_mbuf.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "support/eal.hpp"

namespace {

std::string g_binary_name = "tests";

struct CaseCounter : Catch::TestEventListenerBase {
    using TestEventListenerBase::TestEventListenerBase;

    void testCaseEnded(const Catch::TestCaseStats& stats) override {
        if (stats.totals.assertions.failed > 0 || stats.totals.testCases.failed > 0) {
            ++failed;
        } else {
            ++passed;
        }
    }

    void testRunEnded(const Catch::TestRunStats&) override {
        const char* dir = std::getenv("POLLUX_TEST_REPORT_DIR");
        if (dir == nullptr || *dir == '\0') return;
        const std::string path = std::string(dir) + "/" + g_binary_name + ".counts";
        if (FILE* f = std::fopen(path.c_str(), "w")) {
            std::fprintf(f, "%d %d\n", passed, failed);
            std::fclose(f);
        }
    }

    static inline int passed = 0;
    static inline int failed = 0;
};

}  // namespace

CATCH_REGISTER_LISTENER(CaseCounter)

namespace pollux::test {

rte_mempool* mbuf_pool() {
    static rte_mempool* pool = rte_pktmbuf_pool_create("test_pool", 2047, 0, 0,
                                                       RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    if (pool == nullptr) {
        std::fprintf(stderr, "rte_pktmbuf_pool_create: %s\n", rte_strerror(rte_errno));
        std::abort();
    }
    return pool;
}

}  // namespace pollux::test

int main(int argc, char** argv) {
    if (argc > 0) {
        const std::string self = argv[0];
        g_binary_name = self.substr(self.find_last_of('/') + 1);
    }
    char arg0[] = "pollux-test";
    char no_huge[] = "--no-huge";
    char no_pci[] = "--no-pci";
    char no_shconf[] = "--no-shconf";
    char mem[] = "-m";
    char mem_mb[] = "256";
    char log[] = "--log-level=lib.*:error";
    char lcores[] = "-l";
    char lcore0[] = "0";
    char* eal_argv[] = {arg0, no_huge, no_pci, no_shconf, mem, mem_mb, log, lcores, lcore0};
    if (rte_eal_init(static_cast<int>(std::size(eal_argv)), eal_argv) < 0) {
        std::fprintf(stderr, "rte_eal_init failed: %s\n", rte_strerror(rte_errno));
        return 2;
    }
    const int result = Catch::Session().run(argc, argv);
    rte_eal_cleanup();
    return result;
}
