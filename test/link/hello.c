#include <pollux/pollux.h>
#include <stdio.h>
#include <string.h>
int main(void) { printf("pollux %s on %s\n", px_version(), px_dpdk_version()); return strcmp(px_version(), "0.1.0") != 0; }
