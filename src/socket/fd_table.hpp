// FdTable: pollux's file-descriptor table, the map from an fd number to its socket object.
//
// Numbers (DESIGN.md §3: a pollux fd is never a number a kernel fd of the process can have)
// - Linux hands out the lowest free fd below the process's RLIMIT_NOFILE (fs/file.c
//   alloc_fd), and dup2()/F_DUPFD refuse targets at or above it; setrlimit() refuses a
//   RLIMIT_NOFILE above the fs.nr_open sysctl (default 1,048,576 = 2^20), and the kernel's
//   per-process table never grows past nr_open. So every kernel fd is below
//   max(nr_open, RLIMIT_NOFILE hard limit) - the "kernel fd ceiling".
// - pollux numbers start at kFdBase = 2^30: 1024 times the default nr_open, and the
//   largest power of two that still leaves a large range below INT_MAX (fds are ints and
//   -1 is the error return). Every number >= kFdBase belongs to pollux, so a preload shim
//   routes a call by is_pollux_fd(fd) alone, with no lookup.
// - An administrator may raise fs.nr_open up to about 2^31 (the kernel caps it just below
//   INT_MAX), which would let a process with a raised RLIMIT_NOFILE dup2() onto a pollux
//   number. The table therefore reads the ceiling when it is created and refuses to start
//   (std::runtime_error naming the sysctl) if kFdBase is reachable. It does not move the
//   base instead: a fixed base keeps is_pollux_fd() a compile-time comparison the shim can
//   inline. Raising nr_open past 2^30 while pollux runs is unsupported.
// - Within its range the table allocates like the kernel: the lowest free number, reused
//   as soon as it is closed. A table of capacity N uses [kFdBase, kFdBase + N); install()
//   fails with EMFILE when all N are open.
//
// Contract (threaded and inline modes, DESIGN.md §2)
// - get() is lock-free: one acquire load of the slot's atomic pointer. Any thread may call
//   it at any time, concurrently with install() and remove() from other threads.
// - install(), remove() and next_open()/open_fds() serialize on one mutex (`lock_`).
//   They are not on the data path (socket(), accept() and close() are). The mutex is the
//   innermost lock: nothing is called while it is held, so callers may hold any lock of
//   their own around these calls.
// - install() publishes the pointer with a release store after the bitmap is updated, so a
//   get() that sees the pointer also sees everything the caller wrote to the object before
//   install(). remove() clears the slot (and the number becomes free) before it returns.
// - The table never owns, constructs or destroys objects. After remove() returns, another
//   thread's get() that raced with it may still hold the old pointer; keeping the object
//   alive until such users are done (reference counting, or deferring destruction to a
//   quiescent point) is the socket layer's job, not the table's. A stale get() after
//   remove() returns null, unless the number has been handed out again, in which case it
//   returns the new object - exactly as Linux fd numbers behave.
// - Nothing allocates after the constructor.
#pragma once

#include <atomic>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory>
#include <mutex>
#include <vector>

namespace pollux::socket {

// The first pollux fd. Every int at or above it is pollux's (see the header comment).
inline constexpr int kFdBase = 1 << 30;
// Numbers in [kFdBase, INT_MAX]: the most fds a table can hold.
inline constexpr std::size_t kMaxFdCapacity = static_cast<std::size_t>(INT_MAX) - kFdBase + 1;
inline constexpr std::size_t kDefaultFdCapacity = 65'536;

// True for every number pollux may hand out and no kernel fd can have; decided by the
// number alone (no table lookup), for a preload shim. Open or not is get()'s question.
constexpr bool is_pollux_fd(int fd) noexcept { return fd >= kFdBase; }

// One above the highest fd the kernel could give this process from now on:
// max(/proc/sys/fs/nr_open, hard RLIMIT_NOFILE). If /proc is not readable the hard limit
// alone is used (setrlimit() never lets it exceed nr_open when it is set).
std::uint64_t kernel_fd_ceiling();

// The untyped table behind FdTable<T>: slots hold void*. Use FdTable<T>.
class UntypedFdTable {
public:
    // Reads kernel_fd_ceiling() and checks it as below.
    explicit UntypedFdTable(std::size_t capacity = kDefaultFdCapacity);
    // `kernel_fd_ceiling` as kernel_fd_ceiling() returns it. Throws std::invalid_argument
    // unless 1 <= capacity <= kMaxFdCapacity, std::runtime_error if the kernel could hand
    // out kFdBase (ceiling > kFdBase).
    UntypedFdTable(std::size_t capacity, std::uint64_t kernel_fd_ceiling);

    UntypedFdTable(const UntypedFdTable&) = delete;
    UntypedFdTable& operator=(const UntypedFdTable&) = delete;

    // The lowest free fd, now mapped to `object`; -EMFILE when the table is full, -EINVAL
    // for a null object (null is get()'s "not open").
    int install(void* object) noexcept;
    // The object at `fd`, or null when fd is outside the table's range (negative, a
    // kernel-range number, at or past kFdBase + capacity) or not open. Lock-free.
    void* get(int fd) const noexcept {
        const std::size_t i = index(fd);
        return i < capacity_ ? slots_[i].load(std::memory_order_acquire) : nullptr;
    }
    // Unmaps `fd` and returns its object (the caller destroys it), or null when it was not
    // open; the number is free for the next install().
    void* remove(int fd) noexcept;

    // The lowest open fd >= `from`, or -1 when there is none. Takes the lock.
    int next_open(int from) const noexcept;

    // Open fds. Racy by nature in threaded mode: exact only while no other thread installs
    // or removes.
    std::size_t size() const noexcept { return size_.load(std::memory_order_relaxed); }
    std::size_t capacity() const noexcept { return capacity_; }

private:
    // Bitmap levels: level 0 has one bit per fd (1 = open); a bit of level k+1 is 1 when
    // the matching 64-bit word of level k is full. The top level is one word, so finding
    // the lowest free fd reads one word per level (at most 5 for kMaxFdCapacity). Padding
    // bits past the end of each level are 1, so they are never chosen.
    static constexpr std::size_t kMaxLevels = 5;
    struct Level {
        std::size_t offset = 0;  // first word in words_
        std::size_t count = 0;   // words in this level
    };

    // fd - kFdBase as an unsigned index; huge (>= capacity_) for fd < kFdBase.
    static std::size_t index(int fd) noexcept {
        return static_cast<std::size_t>(static_cast<unsigned>(fd) - static_cast<unsigned>(kFdBase));
    }
    std::uint64_t& word(std::size_t level, std::size_t i) noexcept { return words_[levels_[level].offset + i]; }
    std::size_t find_free() const noexcept;  // a bit index, or capacity_ when full
    void mark_open(std::size_t bit) noexcept;
    void mark_free(std::size_t bit) noexcept;

    std::size_t capacity_;
    std::size_t level_count_ = 0;
    Level levels_[kMaxLevels];
    std::vector<std::uint64_t> words_;                 // guarded by lock_
    std::unique_ptr<std::atomic<void*>[]> slots_;      // written under lock_, read by get()
    std::atomic<std::size_t> size_{0};
    mutable std::mutex lock_;
};

// The typed table: maps fds to T* (UDP/TCP/raw/epoll objects behind a common base).
template <class T>
class FdTable {
public:
    explicit FdTable(std::size_t capacity = kDefaultFdCapacity) : table_(capacity) {}
    FdTable(std::size_t capacity, std::uint64_t kernel_fd_ceiling) : table_(capacity, kernel_fd_ceiling) {}

    int install(T* object) noexcept { return table_.install(object); }
    T* get(int fd) const noexcept { return static_cast<T*>(table_.get(fd)); }
    T* remove(int fd) noexcept { return static_cast<T*>(table_.remove(fd)); }
    int next_open(int from) const noexcept { return table_.next_open(from); }
    std::size_t size() const noexcept { return table_.size(); }
    std::size_t capacity() const noexcept { return table_.capacity(); }

    // `for (int fd : table.open_fds())` visits open fds in ascending order, each step one
    // next_open() call, so the loop body may remove() the fd it is at (closing everything
    // at shutdown). An fd open throughout the loop is visited once; one installed or
    // removed by another thread meanwhile may or may not be.
    class OpenFds {
    public:
        class iterator {
        public:
            using iterator_category = std::input_iterator_tag;
            using value_type = int;
            using difference_type = std::ptrdiff_t;
            using pointer = const int*;
            using reference = int;

            iterator() noexcept = default;
            int operator*() const noexcept { return fd_; }
            iterator& operator++() noexcept {
                fd_ = fd_ == INT_MAX ? -1 : table_->next_open(fd_ + 1);
                return *this;
            }
            iterator operator++(int) noexcept {
                iterator old = *this;
                ++*this;
                return old;
            }
            bool operator==(const iterator& other) const noexcept { return fd_ == other.fd_; }

        private:
            friend class OpenFds;
            iterator(const FdTable* table, int fd) noexcept : table_(table), fd_(fd) {}
            const FdTable* table_ = nullptr;
            int fd_ = -1;  // -1: the end
        };

        iterator begin() const noexcept { return iterator(table_, table_->next_open(kFdBase)); }
        iterator end() const noexcept { return iterator(table_, -1); }

    private:
        friend class FdTable;
        explicit OpenFds(const FdTable* table) noexcept : table_(table) {}
        const FdTable* table_;
    };

    OpenFds open_fds() const noexcept { return OpenFds(this); }

private:
    UntypedFdTable table_;
};

}  // namespace pollux::socket
