// UDP statistics, named after Linux's /proc/net/snmp "Udp:" line (RFC 4113 MIB objects),
// plus the reasons behind InErrors that Linux folds together.
//
// As on Linux: InDatagrams counts datagrams handed to the application (a MSG_PEEK does not
// count); InErrors counts every datagram dropped after it was addressed to us except
// NoPorts and IgnoredMulti, so InErrors = InCsumErrors + RcvbufErrors + InBadLength +
// InCopyErrors.
#pragma once

#include "stats/counter.hpp"

namespace pollux::udp {

struct UdpCounters {
    stats::Counter in_datagrams;
    stats::Counter no_ports;        // unicast for a port nobody holds (port unreachable sent)
    stats::Counter in_errors;
    stats::Counter out_datagrams;
    stats::Counter rcvbuf_errors;   // the socket's receive queue was over SO_RCVBUF
    stats::Counter sndbuf_errors;   // no mbufs to send (ENOBUFS)
    stats::Counter in_csum_errors;
    stats::Counter ignored_multi;   // broadcast/multicast for a port nobody holds
    stats::Counter in_bad_length;   // no room for the header, or the length field lies
    stats::Counter in_copy_errors;  // recvmsg into a bad buffer (EFAULT): the datagram is lost

    template <typename F>
    void visit(F&& f) const {
        f("InDatagrams", in_datagrams);
        f("NoPorts", no_ports);
        f("InErrors", in_errors);
        f("OutDatagrams", out_datagrams);
        f("RcvbufErrors", rcvbuf_errors);
        f("SndbufErrors", sndbuf_errors);
        f("InCsumErrors", in_csum_errors);
        f("IgnoredMulti", ignored_multi);
        f("InBadLength", in_bad_length);
        f("InCopyErrors", in_copy_errors);
    }
};

}  // namespace pollux::udp
