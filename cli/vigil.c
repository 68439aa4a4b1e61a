/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <stdio.h>
#include <string.h>

#include "cmd_collect.h"
#include "cmd_scan.h"
#include "ports.h"

static void
usage(FILE *f)
{
	fprintf(f,
"usage: vigil scan init|check|update [options]   file integrity scans\n"
"       vigil ports [list|check] [options]        network flows and firewall\n"
"                                                 rules of a deployment\n"
"       vigil collect --profile P --host H [options]\n"
"                                                 collect one network device\n"
"                                                 over SSH or Telnet\n"
"       vigil collect --type windows --host H [options]\n"
"                                                 collect one Windows host\n"
"                                                 over SMB\n"
"       vigil --version\n"
"\n"
"Run \"vigil scan --help\", \"vigil ports --help\" or \"vigil collect --help\"\n"
"for the options; see vigil(1).\n");
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EXIT_TROUBLE;
	}
	if (strcmp(argv[1], "scan") == 0) {
		if (argc < 3) {
			fprintf(stderr, "vigil scan: name a command: init, "
			    "check or update\n");
			return EXIT_TROUBLE;
		}
		return cmd_scan(argc - 2, argv + 2);
	}
	if (strcmp(argv[1], "ports") == 0)
		return cmd_ports(argc - 1, argv + 1);
	if (strcmp(argv[1], "collect") == 0)
		return cmd_collect(argc - 1, argv + 1);
	if (strcmp(argv[1], "--version") == 0 ||
	    strcmp(argv[1], "version") == 0) {
		printf("vigil %s\n", VIGIL_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "vigil: unknown command \"%s\"\n", argv[1]);
	usage(stderr);
	return EXIT_TROUBLE;
}
