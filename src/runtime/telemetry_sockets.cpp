#include "runtime/telemetry_sockets.hpp"

#include <rte_telemetry.h>

#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <string>

#include "tcp/tcp_info.hpp"
#include "tcp/tcp_socket.hpp"

namespace pollux::runtime {

namespace {

// DPDK 22.11 lib/telemetry/telemetry.c: MAX_OUTPUT_LEN, what one answer may hold.
constexpr std::size_t kMaxOutput = 16 * 1024;

std::size_t decimal_len(std::uint64_t v) noexcept {
    std::size_t n = 1;
    while (v >= 10) {
        v /= 10;
        ++n;
    }
    return n;
}

// One dictionary being built, with the length its JSON will take. DPDK prints
// `"key":value` separated by commas; a space after each colon and comma is counted too, so
// the estimate is an upper bound whatever the spacing.
class JsonDict {
public:
    explicit JsonDict(rte_tel_data* d) noexcept : d_(d) { rte_tel_data_start_dict(d_); }
    void add(const char* key, std::uint64_t value) noexcept {
        rte_tel_data_add_dict_u64(d_, key, value);
        len_ += entry_len(key, decimal_len(value));
    }
    void add(const char* key, const char* value) noexcept {
        rte_tel_data_add_dict_string(d_, key, value);
        len_ += entry_len(key, std::strlen(value) + 2);
    }
    std::size_t len() const noexcept { return len_; }
    static std::size_t entry_len(const char* key, std::size_t value_len) noexcept {
        return std::strlen(key) + 2 + 2 + value_len + 2;  // "key": value,_
    }

private:
    rte_tel_data* d_;
    std::size_t len_ = 2;  // {}
};

std::string endpoint(const wire::Endpoint& e) { return e.address.to_string() + ":" + std::to_string(e.port.value()); }

// ss -i's option list: "ts sack wscale:7,7".
std::string options_of(const struct tcp_info& i) {
    std::string s;
    const auto word = [&s](const std::string& w) { s += s.empty() ? w : " " + w; };
    if ((i.tcpi_options & TCPI_OPT_TIMESTAMPS) != 0) word("ts");
    if ((i.tcpi_options & TCPI_OPT_SACK) != 0) word("sack");
    if ((i.tcpi_options & TCPI_OPT_WSCALE) != 0) {
        word("wscale:" + std::to_string(i.tcpi_snd_wscale) + "," + std::to_string(i.tcpi_rcv_wscale));
    }
    return s;
}

// One row as a dictionary: ss -tin's columns and its -i details for a connection.
rte_tel_data* format_row(const SocketsTelemetry::Row& r, std::size_t& json_len) {
    rte_tel_data* row = rte_tel_data_alloc();
    if (row == nullptr) return nullptr;
    JsonDict d(row);
    const struct tcp_info& i = r.info;
    d.add("local", endpoint(r.local).c_str());
    d.add("remote", endpoint(r.remote).c_str());
    d.add("state", tcp::linux_tcp_state_name(i.tcpi_state));
    d.add("recv_q", r.recv_q);
    d.add("send_q", r.send_q);
    if (i.tcpi_state == TCP_LISTEN) {
        d.add("syn_queue", r.syn_queue);
    } else {
        d.add("cc", r.congestion);
        d.add("options", options_of(i).c_str());
        d.add("rto_ms", i.tcpi_rto / 1000);
        d.add("rtt_us", i.tcpi_rtt);
        d.add("rttvar_us", i.tcpi_rttvar);
        d.add("ato_ms", i.tcpi_ato / 1000);
        d.add("mss", i.tcpi_snd_mss);
        d.add("advmss", i.tcpi_advmss);
        d.add("pmtu", i.tcpi_pmtu);
        d.add("cwnd", i.tcpi_snd_cwnd);
        d.add("ssthresh", i.tcpi_snd_ssthresh);
        d.add("unacked", i.tcpi_unacked);
        d.add("retrans", i.tcpi_retransmits);  // ss "retrans:current/total"
        d.add("total_retrans", i.tcpi_total_retrans);
        d.add("backoff", i.tcpi_backoff);
        d.add("ca_state", i.tcpi_ca_state);
    }
    json_len = d.len();
    return row;
}

}  // namespace

SocketsTelemetry::SocketsTelemetry(Shard& shard) : shard_(shard), timer_(&SocketsTelemetry::on_tick, this) {
    shard_.timers().arm(timer_, shard_.clock().now() + poll_period);
}

SocketsTelemetry::~SocketsTelemetry() { timer_.cancel(); }

void SocketsTelemetry::on_tick(time::Timer& timer, time::Instant now, void* self) noexcept {
    auto* t = static_cast<SocketsTelemetry*>(self);
    t->serve_pending_request();
    t->shard_.timers().arm(timer, now + poll_period);
}

void SocketsTelemetry::serve_pending_request() noexcept {
    if (!requested_.load(std::memory_order_acquire)) return;
    {
        std::lock_guard lock(mutex_);
        requested_.store(false, std::memory_order_relaxed);
        take_snapshot();
        ++generation_;
    }
    answered_.notify_all();
}

void SocketsTelemetry::take_snapshot() noexcept {
    const time::Instant now = shard_.clock().now();
    total_ = 0;
    count_ = 0;
    const auto next = [this]() -> Row* {
        ++total_;
        if (count_ == rows_.size()) return nullptr;
        Row& r = rows_[count_++];
        r = Row{};
        return &r;
    };
    shard_.tcp().visit_sockets(
        [&](const tcp::TcpSocket& listener, const tcp::TcpLayer::ListenerQueues& q) {
            Row* r = next();
            if (r == nullptr) return;
            r->local = listener.local();
            r->recv_q = q.accept_queue;
            r->send_q = q.backlog;
            r->syn_queue = q.syn_queue;
            tcp::fill_listener_tcp_info(q.accept_queue, q.backlog, r->info);
        },
        [&](const tcp::TcpSocket& conn) {
            Row* r = next();
            if (r == nullptr) return;
            r->local = conn.local();
            r->remote = conn.remote();
            const tcp::Tcb* tcb = conn.tcb();
            if (tcb == nullptr) {
                tcp::fill_closed_tcp_info(r->info);
                return;
            }
            r->recv_q = static_cast<std::uint32_t>(tcb->readable_bytes());
            r->send_q = static_cast<std::uint32_t>(tcb->send_queue_bytes());
            r->congestion = tcb->congestion().name();
            tcp::fill_tcp_info(*tcb, now, r->info);
        });
}

void SocketsTelemetry::answer(rte_tel_data* d) {
    std::unique_lock lock(mutex_);
    const std::uint64_t asked_at = generation_;
    requested_.store(true, std::memory_order_release);
    const bool served = answered_.wait_for(lock, std::chrono::nanoseconds(answer_timeout.ns()),
                                           [&] { return generation_ != asked_at; });
    rte_tel_data_start_dict(d);
    if (!served) {
        rte_tel_data_add_dict_string(d, "error", "the shard did not answer: it is not polling");
        return;
    }
    // Room left for the rows: the whole answer less the command's wrapper and the three
    // counts, each at its widest.
    std::size_t budget = kMaxOutput - (std::strlen(command) + 8) - JsonDict::entry_len("total", 20) -
                         JsonDict::entry_len("listed", 20) - JsonDict::entry_len("omitted", 20);
    std::size_t listed = 0;
    // Three entries of the top dictionary hold the counts.
    const std::size_t max_entries = RTE_TEL_MAX_DICT_ENTRIES - 3;
    for (std::size_t i = 0; i < count_ && listed < max_entries; ++i) {
        std::size_t row_len = 0;
        rte_tel_data* row = format_row(rows_[i], row_len);
        if (row == nullptr) break;
        const std::string key = std::to_string(listed);
        const std::size_t len = JsonDict::entry_len(key.c_str(), row_len);
        if (len > budget) {
            rte_tel_data_free(row);
            break;
        }
        if (rte_tel_data_add_dict_container(d, key.c_str(), row, 0) != 0) {
            rte_tel_data_free(row);
            break;
        }
        budget -= len;
        ++listed;
    }
    rte_tel_data_add_dict_u64(d, "total", total_);
    rte_tel_data_add_dict_u64(d, "listed", listed);
    rte_tel_data_add_dict_u64(d, "omitted", total_ - listed);
}

}  // namespace pollux::runtime
