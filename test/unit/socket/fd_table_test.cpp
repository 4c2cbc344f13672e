#include <catch2/catch.hpp>

#include <sys/resource.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <random>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include "socket/fd_table.hpp"

using pollux::socket::FdTable;
using pollux::socket::is_pollux_fd;
using pollux::socket::kDefaultFdCapacity;
using pollux::socket::kernel_fd_ceiling;
using pollux::socket::kFdBase;
using pollux::socket::kMaxFdCapacity;

namespace {

struct Obj {
    int owner = 0;
    int seq = 0;
};

// A table whose construction does not depend on this machine's sysctls.
FdTable<Obj> make_table(std::size_t capacity) { return FdTable<Obj>(capacity, std::uint64_t{1} << 20); }

std::vector<int> open_list(const FdTable<Obj>& table) {
    std::vector<int> fds;
    for (int fd : table.open_fds()) fds.push_back(fd);
    return fds;
}

}  // namespace

TEST_CASE("FdTable hands out the lowest free number, starting at kFdBase", "[socket][fd]") {
    auto table = make_table(16);
    Obj a, b, c, d, e;
    CHECK(table.install(&a) == kFdBase);
    CHECK(table.install(&b) == kFdBase + 1);
    CHECK(table.install(&c) == kFdBase + 2);
    CHECK(table.size() == 3);
    CHECK(table.get(kFdBase) == &a);
    CHECK(table.get(kFdBase + 1) == &b);
    CHECK(table.get(kFdBase + 2) == &c);

    // A hole below the highest open number is filled first, as the kernel's alloc_fd does.
    CHECK(table.remove(kFdBase + 1) == &b);
    CHECK(table.remove(kFdBase) == &a);
    CHECK(table.install(&d) == kFdBase);
    CHECK(table.install(&e) == kFdBase + 1);
    CHECK(table.install(&a) == kFdBase + 3);
    CHECK(table.size() == 4);
    CHECK(table.capacity() == 16);
}

TEST_CASE("FdTable: a removed fd is stale until its number is handed out again", "[socket][fd]") {
    auto table = make_table(8);
    Obj first, second;
    const int fd = table.install(&first);
    REQUIRE(fd == kFdBase);
    CHECK(table.remove(fd) == &first);
    CHECK(table.get(fd) == nullptr);
    CHECK(table.remove(fd) == nullptr);  // a second close is EBADF
    CHECK(table.size() == 0);

    CHECK(table.install(&second) == fd);  // reused, like a Linux fd number
    CHECK(table.get(fd) == &second);
    CHECK(table.size() == 1);
}

TEST_CASE("FdTable returns EMFILE at capacity and recovers after a remove", "[socket][fd]") {
    auto table = make_table(3);
    Obj a, b, c, d;
    CHECK(table.install(&a) == kFdBase);
    CHECK(table.install(&b) == kFdBase + 1);
    CHECK(table.install(&c) == kFdBase + 2);
    CHECK(table.install(&d) == -EMFILE);
    CHECK(table.install(&d) == -EMFILE);
    CHECK(table.size() == 3);
    CHECK(table.get(kFdBase + 3) == nullptr);

    CHECK(table.remove(kFdBase + 1) == &b);
    CHECK(table.install(&d) == kFdBase + 1);
    CHECK(table.install(&b) == -EMFILE);

    auto one = make_table(1);
    CHECK(one.install(&a) == kFdBase);
    CHECK(one.install(&b) == -EMFILE);
    CHECK(one.remove(kFdBase) == &a);
    CHECK(one.install(&b) == kFdBase);
}

TEST_CASE("FdTable refuses a null object without using a number", "[socket][fd]") {
    auto table = make_table(4);
    Obj a;
    CHECK(table.install(nullptr) == -EINVAL);
    CHECK(table.size() == 0);
    CHECK(table.install(&a) == kFdBase);
}

TEST_CASE("FdTable::get is null for every number that is not open", "[socket][fd]") {
    constexpr std::size_t cap = 16;
    auto table = make_table(cap);
    Obj a, b;
    REQUIRE(table.install(&a) == kFdBase);
    REQUIRE(table.install(&b) == kFdBase + 1);
    REQUIRE(table.remove(kFdBase + 1) == &b);

    const int not_open[] = {
        kFdBase + 1,                    // removed
        kFdBase + 5,                    // never allocated
        kFdBase + cap - 1,              // last number of the range, never allocated
        kFdBase + static_cast<int>(cap),  // one past the range
        INT_MAX,
        -1, -2, INT_MIN,                // negative
        0, 1, 2, 1000,                  // kernel-like numbers
        kFdBase - 1,
    };
    for (int fd : not_open) {
        INFO("fd " << fd);
        CHECK(table.get(fd) == nullptr);
        CHECK(table.remove(fd) == nullptr);
    }
    CHECK(table.size() == 1);
    CHECK(table.get(kFdBase) == &a);
}

TEST_CASE("is_pollux_fd decides by the number alone", "[socket][fd]") {
    STATIC_REQUIRE(is_pollux_fd(kFdBase));
    CHECK(kFdBase == 1 << 30);
    CHECK_FALSE(is_pollux_fd(INT_MIN));
    CHECK_FALSE(is_pollux_fd(-1));
    CHECK_FALSE(is_pollux_fd(0));
    CHECK_FALSE(is_pollux_fd(2));
    CHECK_FALSE(is_pollux_fd(1000));
    CHECK_FALSE(is_pollux_fd((1 << 20) - 1));  // the highest fd under the default fs.nr_open
    CHECK_FALSE(is_pollux_fd(kFdBase - 1));
    CHECK(is_pollux_fd(kFdBase));
    CHECK(is_pollux_fd(kFdBase + static_cast<int>(kDefaultFdCapacity)));
    CHECK(is_pollux_fd(INT_MAX));
    CHECK(kMaxFdCapacity == std::size_t{1} << 30);
}

TEST_CASE("FdTable refuses to start when the kernel could reach kFdBase", "[socket][fd]") {
    CHECK_THROWS_AS(FdTable<Obj>(0, 1024), std::invalid_argument);
    CHECK_THROWS_AS(FdTable<Obj>(kMaxFdCapacity + 1, 1024), std::invalid_argument);
    // Kernel fds are below the ceiling: a ceiling of exactly kFdBase leaves kFdBase free.
    CHECK_NOTHROW(FdTable<Obj>(4, static_cast<std::uint64_t>(kFdBase)));
    CHECK_THROWS_AS(FdTable<Obj>(4, static_cast<std::uint64_t>(kFdBase) + 1), std::runtime_error);
    CHECK_THROWS_AS(FdTable<Obj>(4, UINT64_MAX), std::runtime_error);
}

TEST_CASE("kernel_fd_ceiling covers fs.nr_open and the hard RLIMIT_NOFILE", "[socket][fd]") {
    std::uint64_t nr_open = 0;
    std::ifstream("/proc/sys/fs/nr_open") >> nr_open;
    rlimit limit{};
    REQUIRE(getrlimit(RLIMIT_NOFILE, &limit) == 0);
    const std::uint64_t ceiling = kernel_fd_ceiling();
    CHECK(ceiling >= nr_open);
    CHECK(ceiling >= limit.rlim_max);
    CHECK((ceiling == nr_open || ceiling == limit.rlim_max));
    // On a machine with the default sysctl the default table starts.
    if (ceiling <= static_cast<std::uint64_t>(kFdBase)) {
        FdTable<Obj> table;
        Obj a;
        CHECK(table.capacity() == kDefaultFdCapacity);
        CHECK(table.install(&a) == kFdBase);
    } else {
        CHECK_THROWS_AS(FdTable<Obj>(), std::runtime_error);
    }
}

TEST_CASE("FdTable reallocates across 64-bit word boundaries in order", "[socket][fd]") {
    auto table = make_table(200);
    std::vector<Obj> objs(200);
    for (int i = 0; i < 130; ++i) REQUIRE(table.install(&objs[i]) == kFdBase + i);

    CHECK(table.remove(kFdBase + 65) == &objs[65]);
    CHECK(table.remove(kFdBase + 63) == &objs[63]);
    CHECK(table.remove(kFdBase + 64) == &objs[64]);
    CHECK(table.size() == 127);
    CHECK(table.install(&objs[150]) == kFdBase + 63);
    CHECK(table.install(&objs[151]) == kFdBase + 64);
    CHECK(table.install(&objs[152]) == kFdBase + 65);
    CHECK(table.install(&objs[153]) == kFdBase + 130);
    CHECK(table.get(kFdBase + 64) == &objs[151]);
}

TEST_CASE("FdTable's summary levels find holes in a full three-level table", "[socket][fd]") {
    // 4097 fds: 65 leaf words, 2 summary words, 1 top word; the last fd is alone in its word.
    auto table = make_table(4097);
    std::vector<Obj> objs(4097);
    for (int i = 0; i < 4097; ++i) REQUIRE(table.install(&objs[i]) == kFdBase + i);
    Obj extra;
    CHECK(table.install(&extra) == -EMFILE);

    CHECK(table.remove(kFdBase + 4096) == &objs[4096]);
    CHECK(table.remove(kFdBase + 4095) == &objs[4095]);
    CHECK(table.remove(kFdBase + 0) == &objs[0]);
    CHECK(table.remove(kFdBase + 2000) == &objs[2000]);
    CHECK(table.install(&extra) == kFdBase + 0);
    CHECK(table.install(&extra) == kFdBase + 2000);
    CHECK(table.install(&extra) == kFdBase + 4095);
    CHECK(table.install(&extra) == kFdBase + 4096);
    CHECK(table.install(&extra) == -EMFILE);
    CHECK(table.size() == 4097);
}

TEST_CASE("FdTable at the default capacity fills, refuses, and refills the lowest hole", "[socket][fd]") {
    FdTable<Obj> table(kDefaultFdCapacity, std::uint64_t{1} << 20);
    Obj obj;
    for (std::size_t i = 0; i < kDefaultFdCapacity; ++i) {
        if (table.install(&obj) != kFdBase + static_cast<int>(i)) {
            FAIL("install " << i << " did not return the next number");
        }
    }
    CHECK(table.size() == kDefaultFdCapacity);
    CHECK(table.install(&obj) == -EMFILE);
    CHECK(table.remove(kFdBase + 40'000) == &obj);
    CHECK(table.remove(kFdBase + 4'095) == &obj);
    CHECK(table.remove(kFdBase + 65'535) == &obj);
    CHECK(table.install(&obj) == kFdBase + 4'095);
    CHECK(table.install(&obj) == kFdBase + 40'000);
    CHECK(table.install(&obj) == kFdBase + 65'535);
    CHECK(table.install(&obj) == -EMFILE);
}

TEST_CASE("FdTable::open_fds walks open fds in order and allows removing the current one", "[socket][fd]") {
    auto table = make_table(150);
    std::vector<Obj> objs(150);
    for (int i = 0; i < 150; ++i) REQUIRE(table.install(&objs[i]) == kFdBase + i);
    std::vector<int> expected;
    for (int i = 0; i < 150; ++i) {
        if (i % 3 == 0 || i == 149) {
            expected.push_back(kFdBase + i);
        } else {
            REQUIRE(table.remove(kFdBase + i) == &objs[i]);
        }
    }
    CHECK(open_list(table) == expected);

    CHECK(table.next_open(0) == kFdBase);
    CHECK(table.next_open(-5) == kFdBase);
    CHECK(table.next_open(kFdBase + 1) == kFdBase + 3);
    CHECK(table.next_open(kFdBase + 64) == kFdBase + 66);
    CHECK(table.next_open(kFdBase + 148) == kFdBase + 149);
    CHECK(table.next_open(kFdBase + 150) == -1);
    CHECK(table.next_open(INT_MAX) == -1);

    // Close everything, as shutdown does.
    int visited = 0;
    for (int fd : table.open_fds()) {
        CHECK(table.remove(fd) == &objs[fd - kFdBase]);
        ++visited;
    }
    CHECK(visited == static_cast<int>(expected.size()));
    CHECK(table.size() == 0);
    CHECK(open_list(table).empty());
    // A full last word (padding bits included) yields no phantom fds.
    auto full = make_table(65);
    for (int i = 0; i < 65; ++i) REQUIRE(full.install(&objs[i]) == kFdBase + i);
    CHECK(open_list(full).size() == 65);
    CHECK(full.next_open(kFdBase + 64) == kFdBase + 64);
    CHECK(full.next_open(kFdBase + 65) == -1);
}

TEST_CASE("FdTable matches a std::set model over 10,000 seeded random operations", "[socket][fd]") {
    const std::size_t capacity = GENERATE(std::size_t{1}, std::size_t{63}, std::size_t{64}, std::size_t{65},
                                          std::size_t{130}, std::size_t{200});
    INFO("capacity " << capacity);
    auto table = make_table(capacity);
    std::mt19937 rng(static_cast<std::uint32_t>(0x5eed + capacity));
    std::vector<Obj> objs(10'000);
    std::set<int> model;
    std::vector<Obj*> owner(capacity, nullptr);
    const int span_lo = kFdBase - 2;
    const int span_hi = kFdBase + static_cast<int>(capacity) + 2;
    auto any_number = [&] { return std::uniform_int_distribution<int>(span_lo, span_hi)(rng); };
    auto expected_get = [&](int fd) -> Obj* {
        return model.count(fd) != 0 ? owner[static_cast<std::size_t>(fd - kFdBase)] : nullptr;
    };

    int installs = 0, emfiles = 0, removes = 0;
    for (int op = 0; op < 10'000; ++op) {
        const unsigned roll = rng() % 100;
        if (roll < 50) {
            int lowest = kFdBase;
            while (model.count(lowest) != 0) ++lowest;
            const bool full = model.size() == capacity;
            const int fd = table.install(&objs[static_cast<std::size_t>(op)]);
            if (full) {
                REQUIRE(fd == -EMFILE);
                ++emfiles;
            } else {
                REQUIRE(fd == lowest);
                model.insert(fd);
                owner[static_cast<std::size_t>(fd - kFdBase)] = &objs[static_cast<std::size_t>(op)];
                ++installs;
            }
        } else if (roll < 80) {
            int fd = any_number();
            if (!model.empty() && rng() % 2 == 0) {
                fd = *std::next(model.begin(), static_cast<long>(rng() % model.size()));
            }
            Obj* expected = expected_get(fd);
            REQUIRE(table.remove(fd) == expected);
            if (expected != nullptr) {
                model.erase(fd);
                ++removes;
            }
        } else {
            const int fd = any_number();
            REQUIRE(table.get(fd) == expected_get(fd));
        }
        REQUIRE(table.size() == model.size());
        if (op % 97 == 0) REQUIRE(open_list(table) == std::vector<int>(model.begin(), model.end()));
    }
    // The run exercised every outcome.
    CHECK(installs > 100);
    CHECK(removes > 100);
    CHECK(emfiles > 0);
}

TEST_CASE("FdTable: concurrent install/get/remove with a lock-free reader", "[socket][fd]") {
    constexpr int kWorkers = 4;
    constexpr int kPerWorker = 20'000;
    constexpr int kHeld = 16;       // most fds a worker holds at once
    constexpr int kResident = 4;    // installed before the threads start, never removed
    constexpr std::size_t kCapacity = 256;
    auto table = make_table(kCapacity);

    // Each worker fills in an object just before its one install() and never writes it
    // again: the reader sees the fields only through install()'s release and get()'s
    // acquire (a race for -fsanitize=thread otherwise), and a stale pointer loaded just
    // before a remove() still points at a live, unchanged object.
    std::vector<std::vector<Obj>> pools(kWorkers + 1, std::vector<Obj>(kPerWorker, Obj{-1, -1}));
    for (int r = 0; r < kResident; ++r) {
        Obj& resident = pools[kWorkers][static_cast<std::size_t>(r)];
        resident = Obj{kWorkers, r};
        REQUIRE(table.install(&resident) == kFdBase + r);
    }

    // Catch2 assertions are not thread-safe: threads count failures, the main thread checks.
    std::atomic<long> install_errors{0}, get_errors{0}, remove_errors{0}, range_errors{0};
    std::atomic<long> reader_errors{0}, reader_passes{0}, resident_seen{0};
    std::atomic<int> running{kWorkers};

    auto worker = [&](int w) {
        std::mt19937 rng(static_cast<std::uint32_t>(1000 + w));
        std::vector<std::pair<int, Obj*>> held;
        auto drop = [&](std::size_t k) {
            auto [fd, obj] = held[k];
            if (table.get(fd) != obj) ++get_errors;
            if (table.remove(fd) != obj) ++remove_errors;
            held[k] = held.back();
            held.pop_back();
        };
        for (int s = 0; s < kPerWorker; ++s) {
            Obj* obj = &pools[static_cast<std::size_t>(w)][static_cast<std::size_t>(s)];
            *obj = Obj{w, s};
            const int fd = table.install(obj);
            if (fd < 0) {
                ++install_errors;
                continue;
            }
            // At most kResident + kWorkers * kHeld fds are open at once, so lowest-free
            // allocation never goes past that many numbers.
            if (fd >= kFdBase + kResident + kWorkers * kHeld) ++range_errors;
            if (table.get(fd) != obj) ++get_errors;
            held.emplace_back(fd, obj);
            if (held.size() == kHeld || rng() % 2 == 0) drop(rng() % held.size());
        }
        while (!held.empty()) drop(held.size() - 1);
        --running;
    };

    auto reader = [&] {
        do {
            for (int fd = kFdBase - 1; fd <= kFdBase + static_cast<int>(kCapacity); ++fd) {
                const Obj* p = table.get(fd);
                if (p == nullptr) continue;
                const bool valid = p->owner >= 0 && p->owner <= kWorkers && p->seq >= 0 && p->seq < kPerWorker &&
                                   p == &pools[static_cast<std::size_t>(p->owner)][static_cast<std::size_t>(p->seq)];
                if (!valid || fd < kFdBase || fd >= kFdBase + static_cast<int>(kCapacity)) ++reader_errors;
                if (p->owner == kWorkers) {
                    if (fd - kFdBase == p->seq) {
                        ++resident_seen;
                    } else {
                        ++reader_errors;
                    }
                }
            }
            ++reader_passes;
        } while (running.load() > 0);
    };

    std::thread reader_thread(reader);
    std::vector<std::thread> workers;
    for (int w = 0; w < kWorkers; ++w) workers.emplace_back(worker, w);
    for (auto& t : workers) t.join();
    reader_thread.join();

    CHECK(install_errors == 0);
    CHECK(get_errors == 0);
    CHECK(remove_errors == 0);
    CHECK(range_errors == 0);
    CHECK(reader_errors == 0);
    CHECK(reader_passes >= 1);
    CHECK(resident_seen == reader_passes * kResident);
    CHECK(table.size() == static_cast<std::size_t>(kResident));
    CHECK(open_list(table) == std::vector<int>{kFdBase, kFdBase + 1, kFdBase + 2, kFdBase + 3});
}
