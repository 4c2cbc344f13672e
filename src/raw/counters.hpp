// Raw socket statistics of one shard. Linux keeps no "Raw:" MIB line (only a per-socket
// drop count in /proc/net/raw), so these are named after what they count, with the UDP
// MIB's names where the meaning is the same.
//
// Every copy a raw socket matched is either delivered (in_delivers) or dropped, by reason
// (rcvbuf_errors, clone_errors): in_delivers + rcvbuf_errors + clone_errors = the copies
// raw_input wanted to make. in_datagrams counts datagrams handed to the application (a
// MSG_PEEK does not count), as UDP's InDatagrams.
#pragma once

#include "stats/counter.hpp"

namespace pollux::raw {

struct RawCounters {
    stats::Counter in_delivers;     // copies queued on a raw socket
    stats::Counter in_datagrams;    // datagrams recvmsg handed to the application
    stats::Counter rcvbuf_errors;   // the socket's receive queue was at SO_RCVBUF
    stats::Counter clone_errors;    // no mbufs for the copy (Linux: skb_clone failed)
    stats::Counter in_copy_errors;  // recvmsg into a bad buffer (EFAULT): the datagram is lost
    stats::Counter out_datagrams;   // datagrams handed to IPv4
    stats::Counter sndbuf_errors;   // no mbufs to send (ENOBUFS)

    template <typename F>
    void visit(F&& f) const {
        f("InDelivers", in_delivers);
        f("InDatagrams", in_datagrams);
        f("RcvbufErrors", rcvbuf_errors);
        f("CloneErrors", clone_errors);
        f("InCopyErrors", in_copy_errors);
        f("OutDatagrams", out_datagrams);
        f("SndbufErrors", sndbuf_errors);
    }
};

}  // namespace pollux::raw
