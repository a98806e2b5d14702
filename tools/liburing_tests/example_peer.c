/* The other end of liburing 2.3's network examples, for run.sh's checks of
 * what they did (built with plain gcc, no io_uring here):
 *
 *   example_peer udp-echo PORT SEED   client of examples/io_uring-udp (an echo
 *       server on 127.0.0.1:PORT): 64 datagrams one at a time, then a burst of
 *       32; each echo must come back byte for byte (4..3900 bytes each: the
 *       server's 4 KiB buffers also hold a 16-byte header and a 128-byte
 *       name; contents from SEED and the datagram's number).
 *   example_peer tcp-sink LEN         listens on 127.0.0.1 (port printed on
 *       stdout), takes one connection of examples/send-zerocopy ... tcp and
 *       reads it to EOF. The example keeps 8 sends in flight on the socket and
 *       a send cut short goes on later, so their bytes may interleave: what
 *       must hold is that N bytes came, N = K * LEN, and each letter came K
 *       times as often as in one payload ('a' + i % 26, i < LEN), i.e. K
 *       whole payloads. Prints "received N bytes = K payloads".
 *   example_peer udp-sink LEN         binds 127.0.0.1 (port printed), takes
 *       datagrams of send-zerocopy ... udp until 1 s passes without one (10 s
 *       for the first); each must be LEN bytes of the pattern. Prints
 *       "received N datagrams".
 *
 * Exit 0 when everything checked out, 1 with a message on stderr otherwise.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static int fail(const char *what)
{
	fprintf(stderr, "example_peer: %s: %s\n", what, errno ? strerror(errno) : "mismatch");
	return 1;
}

static void set_timeout(int fd, int seconds)
{
	struct timeval tv = { .tv_sec = seconds, .tv_usec = 0 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

static int bound_socket(int type, struct sockaddr_in *addr)
{
	socklen_t len = sizeof(*addr);
	int fd = socket(AF_INET, type, 0);

	if (fd < 0)
		return -1;
	memset(addr, 0, sizeof(*addr));
	addr->sin_family = AF_INET;
	addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)addr, sizeof(*addr)) || getsockname(fd, (struct sockaddr *)addr, &len)) {
		close(fd);
		return -1;
	}
	printf("%d\n", ntohs(addr->sin_port));
	fflush(stdout);
	return fd;
}

/* Datagram number n of the echo check: a 4-byte number, then bytes of a
 * simple generator seeded by SEED and n. */
static size_t make_datagram(unsigned char *buf, uint32_t seed, uint32_t n)
{
	uint32_t x = seed * 2654435761u + n * 40503u + 1;
	size_t len, i;

	x ^= x >> 13;
	len = 4 + x % 3897;
	memcpy(buf, &n, 4);
	for (i = 4; i < len; i++) {
		x = x * 1103515245u + 12345u;
		buf[i] = (unsigned char)(x >> 16);
	}
	return len;
}

static int udp_echo(int port, uint32_t seed)
{
	enum { ONE_BY_ONE = 64, BURST = 32 };
	unsigned char want[4096], got[8192];
	int seen[BURST] = { 0 };
	struct sockaddr_in server = { .sin_family = AF_INET, .sin_port = htons(port) };
	size_t bytes = 0;
	uint32_t n;
	int fd;

	server.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&server, sizeof(server)))
		return fail("udp socket");
	set_timeout(fd, 5);
	for (n = 0; n < ONE_BY_ONE; n++) {
		size_t len = make_datagram(want, seed, n);
		ssize_t r;

		if (send(fd, want, len, 0) != (ssize_t)len)
			return fail("send");
		r = recv(fd, got, sizeof(got), 0);
		if (r < 0)
			return fail("no echo within 5 s");
		if ((size_t)r != len || memcmp(got, want, len)) {
			fprintf(stderr, "example_peer: datagram %u: sent %zu bytes, the echo has %zd %s\n", n, len, r,
				(size_t)r == len ? "that differ" : "");
			return 1;
		}
		bytes += len;
	}
	for (n = 0; n < BURST; n++) {
		size_t len = make_datagram(want, seed, ONE_BY_ONE + n);

		if (send(fd, want, len, 0) != (ssize_t)len)
			return fail("send");
	}
	for (n = 0; n < BURST; n++) {
		ssize_t r = recv(fd, got, sizeof(got), 0);
		uint32_t which;
		size_t len;

		if (r < 4)
			return fail(r < 0 ? "burst: an echo is missing after 5 s" : "burst: short echo");
		memcpy(&which, got, 4);
		if (which < ONE_BY_ONE || which >= ONE_BY_ONE + BURST || seen[which - ONE_BY_ONE]++) {
			fprintf(stderr, "example_peer: burst: echo of datagram %u, not one sent once\n", which);
			return 1;
		}
		len = make_datagram(want, seed, which);
		if ((size_t)r != len || memcmp(got, want, len)) {
			fprintf(stderr, "example_peer: burst datagram %u: sent %zu bytes, the echo has %zd\n", which, len, r);
			return 1;
		}
		bytes += len;
	}
	printf("echoed %d datagrams, %zu bytes\n", ONE_BY_ONE + BURST, bytes);
	return 0;
}

static int tcp_sink(size_t len)
{
	static unsigned char buf[1 << 16];
	unsigned long long total = 0, count[256] = { 0 }, per_payload[26] = { 0 }, k;
	struct sockaddr_in addr;
	size_t i;
	int lfd, fd, c;

	lfd = bound_socket(SOCK_STREAM, &addr);
	if (lfd < 0 || listen(lfd, 1))
		return fail("tcp listen");
	set_timeout(lfd, 10);
	fd = accept(lfd, NULL, NULL);
	if (fd < 0)
		return fail("no connection within 10 s");
	set_timeout(fd, 10);
	for (;;) {
		ssize_t r = recv(fd, buf, sizeof(buf), 0), j;

		if (r < 0)
			return fail("recv");
		if (r == 0)
			break;
		for (j = 0; j < r; j++)
			count[buf[j]]++;
		total += r;
	}
	for (i = 0; i < len; i++)
		per_payload[i % 26]++;
	k = total / len;
	if (total == 0 || total % len) {
		fprintf(stderr, "example_peer: received %llu bytes, not a whole number of %zu-byte payloads\n", total, len);
		return 1;
	}
	for (c = 0; c < 256; c++) {
		unsigned long long want = c >= 'a' && c <= 'z' ? k * per_payload[c - 'a'] : 0;

		if (count[c] != want) {
			fprintf(stderr, "example_peer: %llu bytes of 0x%02x in %llu bytes, %llu payloads have %llu\n",
				count[c], c, total, k, want);
			return 1;
		}
	}
	printf("received %llu bytes = %llu payloads\n", total, k);
	return 0;
}

static int udp_sink(size_t len)
{
	static unsigned char buf[1 << 16];
	struct sockaddr_in addr;
	unsigned long count = 0;
	int fd = bound_socket(SOCK_DGRAM, &addr);

	if (fd < 0)
		return fail("udp bind");
	set_timeout(fd, 10);
	for (;;) {
		ssize_t r = recv(fd, buf, sizeof(buf), 0), i;

		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && count > 0)
			break;
		if (r < 0)
			return fail("recv");
		if ((size_t)r != len) {
			fprintf(stderr, "example_peer: datagram %lu has %zd bytes, not %zu\n", count, r, len);
			return 1;
		}
		for (i = 0; i < r; i++) {
			if (buf[i] != 'a' + i % 26) {
				fprintf(stderr, "example_peer: datagram %lu: byte %zd differs from the pattern\n", count, i);
				return 1;
			}
		}
		if (count++ == 0)
			set_timeout(fd, 1);
	}
	printf("received %lu datagrams\n", count);
	return 0;
}

int main(int argc, char *argv[])
{
	if (argc == 4 && !strcmp(argv[1], "udp-echo"))
		return udp_echo(atoi(argv[2]), (uint32_t)strtoul(argv[3], NULL, 0));
	if (argc == 3 && !strcmp(argv[1], "tcp-sink") && atoi(argv[2]) > 0)
		return tcp_sink((size_t)atoi(argv[2]));
	if (argc == 3 && !strcmp(argv[1], "udp-sink") && atoi(argv[2]) > 0)
		return udp_sink((size_t)atoi(argv[2]));
	fprintf(stderr, "usage: example_peer udp-echo PORT SEED | tcp-sink LEN | udp-sink LEN\n");
	return 2;
}
