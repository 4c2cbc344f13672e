// IPv4 and ICMP statistics, named after Linux's /proc/net/snmp (RFC 4293 / RFC 2011 MIB
// objects) where one exists. Every dropped packet lands in exactly one drop counter.
#pragma once

#include "stats/counter.hpp"

namespace pollux::ip {

struct Ipv4Counters {
    stats::Counter in_receives;
    stats::Counter in_hdr_errors;        // version, IHL, lengths that lie low, bad fragment bounds
    stats::Counter in_truncated_pkts;    // total length beyond the frame
    stats::Counter in_csum_errors;
    stats::Counter in_addr_errors;       // not for us (pollux does not forward)
    stats::Counter in_martian_source;    // source is broadcast/multicast/zero/loopback/ours
    stats::Counter in_unknown_protos;
    stats::Counter in_discards;          // valid, dropped for want of resources
    stats::Counter in_delivers;
    stats::Counter out_requests;
    stats::Counter out_no_routes;
    stats::Counter out_discards;         // no mbuf, no headroom, over 65535 bytes
    // Datagrams to ourselves dropped because the loopback backlog was full (Linux counts
    // these as softnet drops, /proc/net/softnet_stat, and in lo's rx_dropped).
    stats::Counter loopback_drops;
    stats::Counter frag_oks;
    stats::Counter frag_fails;           // DF set and too big, or no mbufs
    stats::Counter frag_creates;

    template <typename F>
    void visit(F&& f) const {
        f("InReceives", in_receives);
        f("InHdrErrors", in_hdr_errors);
        f("InTruncatedPkts", in_truncated_pkts);
        f("InCsumErrors", in_csum_errors);
        f("InAddrErrors", in_addr_errors);
        f("InMartianSource", in_martian_source);
        f("InUnknownProtos", in_unknown_protos);
        f("InDiscards", in_discards);
        f("InDelivers", in_delivers);
        f("OutRequests", out_requests);
        f("OutNoRoutes", out_no_routes);
        f("OutDiscards", out_discards);
        f("LoopbackDrops", loopback_drops);
        f("FragOKs", frag_oks);
        f("FragFails", frag_fails);
        f("FragCreates", frag_creates);
    }
};

struct IcmpCounters {
    stats::Counter in_msgs;
    stats::Counter in_errors;            // truncated, malformed quotes
    stats::Counter in_csum_errors;
    stats::Counter in_unsupported;       // types pollux does not handle (timestamp, redirect, ...)
    stats::Counter in_echos;
    stats::Counter in_echo_reps;
    stats::Counter in_dest_unreachs;
    stats::Counter in_time_excds;
    stats::Counter in_parm_probs;
    stats::Counter in_echo_broadcast_ignored;  // icmp_echo_ignore_broadcasts=1, as Linux
    stats::Counter out_msgs;
    stats::Counter out_echo_reps;
    stats::Counter out_dest_unreachs;
    stats::Counter out_time_excds;
    stats::Counter out_parm_probs;
    stats::Counter out_rate_limited;     // errors not sent: global or per-destination limit
    stats::Counter out_errors;           // errors not sent: no mbuf, no route

    template <typename F>
    void visit(F&& f) const {
        f("InMsgs", in_msgs);
        f("InErrors", in_errors);
        f("InCsumErrors", in_csum_errors);
        f("InUnsupported", in_unsupported);
        f("InEchos", in_echos);
        f("InEchoReps", in_echo_reps);
        f("InDestUnreachs", in_dest_unreachs);
        f("InTimeExcds", in_time_excds);
        f("InParmProbs", in_parm_probs);
        f("InEchoBroadcastIgnored", in_echo_broadcast_ignored);
        f("OutMsgs", out_msgs);
        f("OutEchoReps", out_echo_reps);
        f("OutDestUnreachs", out_dest_unreachs);
        f("OutTimeExcds", out_time_excds);
        f("OutParmProbs", out_parm_probs);
        f("OutRateLimited", out_rate_limited);
        f("OutErrors", out_errors);
    }
};

}  // namespace pollux::ip
