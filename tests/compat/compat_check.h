/* A minimal test harness for the C programs of tests/compat: CHECK counts
 * failed assertions, each test function is a case, and main prints the
 * summary lines CI's counter reads (doctest's format). Exit status: 0 when
 * every case passed. */
#ifndef TESTS_COMPAT_CHECK_H
#define TESTS_COMPAT_CHECK_H

#include <dirent.h>
#include <stdio.h>
#include <string.h>

static int compat_failed_checks;
static int compat_checks;

#define CHECK(cond)                                                                    \
	do {                                                                           \
		++compat_checks;                                                       \
		if (!(cond)) {                                                         \
			++compat_failed_checks;                                        \
			fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
		}                                                                      \
	} while (0)

#define CHECK_EQ(a, b)                                                                   \
	do {                                                                             \
		long long compat_a = (long long)(a), compat_b = (long long)(b);          \
		++compat_checks;                                                         \
		if (compat_a != compat_b) {                                              \
			++compat_failed_checks;                                          \
			fprintf(stderr, "%s:%d: CHECK_EQ(%s, %s) failed: %lld != %lld\n", __FILE__, \
				__LINE__, #a, #b, compat_a, compat_b);                   \
		}                                                                        \
	} while (0)

typedef void (*compat_case_fn)(void);
struct compat_case {
	const char *name;
	compat_case_fn fn;
};

static int compat_run(const struct compat_case *cases, int n)
{
	int failed_cases = 0;
	for (int i = 0; i < n; i++) {
		int before = compat_failed_checks;
		cases[i].fn();
		if (compat_failed_checks != before) {
			++failed_cases;
			fprintf(stderr, "TEST CASE FAILED: %s\n", cases[i].name);
		}
	}
	printf("[doctest] test cases: %d | %d passed | %d failed | 0 skipped\n", n, n - failed_cases,
	       failed_cases);
	printf("[doctest] assertions: %d | %d passed | %d failed |\n", compat_checks,
	       compat_checks - compat_failed_checks, compat_failed_checks);
	printf("[doctest] Status: %s\n", failed_cases ? "FAILURE!" : "SUCCESS!");
	printf("uring-skipped-test-cases: 0\n"); /* CI's counter (.ci/verdicts.py) needs it */
	return failed_cases ? 1 : 0;
}

/* A raw SQE, written field by field (not through a prep function), so the
 * ring calls are tested on their own. Needs <liburing.h> first. */
static inline void compat_fill(struct io_uring_sqe *sqe, int opcode, int fd, const void *addr, unsigned len,
			       __u64 off, __u64 user_data)
{
	memset(sqe, 0, sizeof *sqe);
	sqe->opcode = (__u8)opcode;
	sqe->fd = fd;
	sqe->addr = (unsigned long)addr;
	sqe->len = len;
	sqe->off = off;
	sqe->user_data = user_data;
}

/* Entries of /proc/self/fd, and lines of /proc/self/maps. */
static inline int compat_open_fds(void)
{
	DIR *dir = opendir("/proc/self/fd");
	int n = 0;
	struct dirent *e;
	if (!dir)
		return -1;
	while ((e = readdir(dir)))
		if (e->d_name[0] != '.')
			n++;
	closedir(dir);
	return n - 1; /* the directory's own fd */
}

static inline int compat_maps(const char *containing)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	int n = 0;
	if (!f)
		return -1;
	while (fgets(line, sizeof line, f))
		if (!containing || strstr(line, containing))
			n++;
	fclose(f);
	return n;
}

#endif
