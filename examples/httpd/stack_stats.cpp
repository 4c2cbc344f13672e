#include "stack_stats.hpp"

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string_view>
#include <vector>

namespace httpd {
namespace {

std::string g_file_prefix = "rte";  // DPDK's default

#ifndef APP_STACK_KERNEL

std::string telemetry_socket_path() {
    std::string dir;
    if (geteuid() == 0) {
        dir = "/var/run";
    } else if (const char* xdg = std::getenv("XDG_RUNTIME_DIR"); xdg != nullptr) {
        dir = xdg;
    } else {
        dir = "/tmp";
    }
    return dir + "/dpdk/" + g_file_prefix + "/dpdk_telemetry.v2";
}

// Sends `command` on DPDK's telemetry socket and returns the value of its one-member
// reply object ({"/pollux/stats": VALUE}), or "null". A blocking exchange with DPDK's
// telemetry thread, bounded by a one-second timeout; the stack does not poll meanwhile.
std::string telemetry_query(const char* command) {
    const std::string path = telemetry_socket_path();
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd < 0) return "null";
    timeval timeout{1, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
    std::string value = "null";
    // Telemetry replies are at most 16 KiB (RTE_TEL_MAX_SINGLE_STRING_LEN's default
    // output size); the first message is the server's own description.
    std::vector<char> reply(65536);
    if (connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0 &&
        recv(fd, reply.data(), reply.size(), 0) > 0 && send(fd, command, std::strlen(command), 0) > 0) {
        ssize_t n = recv(fd, reply.data(), reply.size(), 0);
        if (n > 0) {
            std::string_view text(reply.data(), static_cast<std::size_t>(n));
            const std::size_t colon = text.find(':');
            const std::size_t last = text.rfind('}');
            if (colon != std::string_view::npos && last != std::string_view::npos && last > colon) {
                value.assign(text.substr(colon + 1, last - colon - 1));
            }
        }
    }
    close(fd);
    return value;
}

#endif

}  // namespace

void stack_stats_init(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        if (a == "--") break;
        if (a.substr(0, 14) == "--file-prefix=") {
            g_file_prefix = a.substr(14);
        } else if (a == "--file-prefix" && i + 1 < argc) {
            g_file_prefix = argv[++i];
        }
    }
}

std::string stack_stats_json() {
#ifdef APP_STACK_KERNEL
    // /proc/net/snmp: pairs of lines, "Proto: Name1 Name2 ..." then "Proto: v1 v2 ...".
    std::ifstream snmp("/proc/net/snmp");
    std::string names, values, json = "{";
    while (std::getline(snmp, names) && std::getline(snmp, values)) {
        std::istringstream n(names), v(values);
        std::string proto, proto_again, name, value;
        n >> proto;
        v >> proto_again;
        if (proto != proto_again || proto.empty()) return "null";
        proto.pop_back();  // the ':'
        if (json.size() > 1) json += ", ";
        json += "\"" + proto + "\": {";
        bool first = true;
        while (n >> name && v >> value) {
            json += (first ? "\"" : ", \"") + name + "\": " + value;
            first = false;
        }
        json += "}";
    }
    json += "}";
    return json.size() > 2 ? json : "null";
#else
    return telemetry_query("/pollux/stats");
#endif
}

}  // namespace httpd
