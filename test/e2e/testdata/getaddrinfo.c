/*
 * getaddrinfo: resolve a name the way a program linked with the C library
 * does, for comparing resolvers (the end-to-end suite builds it statically
 * with musl-gcc and runs it beside glibc's getent).
 *
 * Usage: getaddrinfo DATABASE NAME
 *
 * DATABASE is one of getent's: hosts (IPv6, else IPv4, as getent asks
 * gethostbyname2), ahosts (either family), ahostsv4, ahostsv6 (IPv6, or
 * IPv4 mapped). It prints each distinct address with the canonical name,
 * "ADDRESS CANONICAL", and exits 0; when nothing is found it prints the
 * resolver's error on stderr and exits 2, getent's code for a missing key.
 */
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

/* The flags getent's ahosts databases ask getaddrinfo for. */
#define AHOSTS (AI_ADDRCONFIG | AI_V4MAPPED)

static int lookup(const char *name, int family, int flags, struct addrinfo **res)
{
	struct addrinfo hints;

	memset(&hints, 0, sizeof hints);
	hints.ai_family = family;
	hints.ai_socktype = SOCK_STREAM; /* one entry per address */
	hints.ai_flags = AI_CANONNAME | flags;
	return getaddrinfo(name, NULL, &hints, res);
}

int main(int argc, char **argv)
{
	struct addrinfo *res = NULL, *ai;
	const char *db, *name, *canon = NULL;
	char seen[64][NI_MAXHOST];
	int n = 0, err;

	if (argc != 3) {
		fprintf(stderr, "usage: %s hosts|ahosts|ahostsv4|ahostsv6 NAME\n", argv[0]);
		return 1;
	}
	db = argv[1];
	name = argv[2];
	if (strcmp(db, "hosts") == 0) {
		err = lookup(name, AF_INET6, 0, &res);
		if (err != 0)
			err = lookup(name, AF_INET, 0, &res);
	} else if (strcmp(db, "ahosts") == 0) {
		err = lookup(name, AF_UNSPEC, AHOSTS, &res);
	} else if (strcmp(db, "ahostsv4") == 0) {
		err = lookup(name, AF_INET, AHOSTS, &res);
	} else if (strcmp(db, "ahostsv6") == 0) {
		err = lookup(name, AF_INET6, AHOSTS, &res);
	} else {
		fprintf(stderr, "unknown database %s\n", db);
		return 1;
	}
	if (err != 0) {
		fprintf(stderr, "%s: %s\n", name, gai_strerror(err));
		return 2;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		char host[NI_MAXHOST];
		int i;

		if (ai->ai_canonname != NULL)
			canon = ai->ai_canonname;
		if (getnameinfo(ai->ai_addr, ai->ai_addrlen, host, sizeof host, NULL, 0, NI_NUMERICHOST) != 0)
			continue;
		for (i = 0; i < n && strcmp(seen[i], host) != 0; i++)
			;
		if (i < n || n == 64)
			continue;
		strcpy(seen[n++], host);
		printf("%s %s\n", host, canon != NULL ? canon : name);
	}
	freeaddrinfo(res);
	return 0;
}
