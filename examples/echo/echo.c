/* echo: brings a pollux stack up on a DPDK port and serves until SIGINT/SIGTERM.
 *
 *   build/examples/echo --no-pci --vdev=net_tap0,iface=pxt0 -- --ip 198.18.0.2/24
 *
 * Today it answers ARP and ping (ICMP echo, fragmented or not); the socket and TCP work
 * makes it an echo server on top of the same loop. Written in C against the public
 * header only, as a user's program would be. */
#include <pollux/pollux.h>

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
    int n = px_init(argc, argv);
    if (n < 0) return 1;
    argc -= n;
    argv += n;
    for (int i = 1; i < argc; ++i) {
        if (strcmp(argv[i], "--help") == 0) {
            printf("usage: echo [EAL args] -- --ip ADDR/LEN [pollux options]\n");
            px_fini();
            return 0;
        }
        fprintf(stderr, "echo: unknown argument %s\n", argv[i]);
        px_fini();
        return 2;
    }
    fprintf(stderr, "echo: running (pollux %s on %s); Ctrl-C stops\n", px_version(), px_dpdk_version());
    px_run(NULL, NULL);
    fprintf(stderr, "echo: stopped\n");
    px_fini();
    return 0;
}
