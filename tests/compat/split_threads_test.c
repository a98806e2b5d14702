/* One thread submits (io_uring_get_sqe / io_uring_submit), another reaps,
 * as liburing allows: the CQ-side calls must not touch the SQ state the
 * submitter is changing. Every NOP must come back exactly once: an SQE
 * lost (taken but never published, its slot handed out again) shows as a
 * user_data never reaped and a reaper that runs out of CQEs. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <liburing.h>

#include "tests/compat/compat_check.h"

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define NOPS 200000UL /* instrumented: slower, and the race window wider */
#else
#define NOPS 1000000UL
#endif
#define IN_FLIGHT 32 /* a 64-entry SQ, 128-entry CQ: never overflows */

enum reap_style { REAP_WAIT_TIMEOUT, REAP_READY_PEEK };

struct shared {
	struct io_uring ring;
	enum reap_style style;
	atomic_ulong reaped;
	atomic_int reaper_done;
	unsigned char *seen; /* written by the reaper only, read after join */
	unsigned long duplicates, bad, stalls;
};

static void *reaper(void *arg)
{
	struct shared *s = arg;
	unsigned long reaped = 0;
	while (reaped < NOPS) {
		struct io_uring_cqe *cqe = NULL;
		int ret;
		if (s->style == REAP_WAIT_TIMEOUT) {
			struct __kernel_timespec ts = {.tv_sec = 2, .tv_nsec = 0};
			ret = io_uring_wait_cqe_timeout(&s->ring, &cqe, &ts);
		} else {
			/* Poll with cq_ready and peek, for at most ~2 s of nothing. */
			unsigned long spins = 0;
			ret = -ETIME;
			while (spins++ < 20000000UL) {
				if (io_uring_cq_ready(&s->ring) && io_uring_peek_cqe(&s->ring, &cqe) == 0) {
					ret = 0;
					break;
				}
				if ((spins & 1023) == 0) {
					struct timespec nap = {0, 100000};
					nanosleep(&nap, NULL);
				}
			}
		}
		if (ret != 0 || !cqe) {
			s->stalls++; /* no CQE for ~2 s: one was lost */
			break;
		}
		unsigned long ud = (unsigned long)cqe->user_data;
		if (ud >= NOPS)
			s->bad++;
		else if (s->seen[ud])
			s->duplicates++;
		else
			s->seen[ud] = 1;
		io_uring_cqe_seen(&s->ring, cqe);
		atomic_store_explicit(&s->reaped, ++reaped, memory_order_release);
	}
	atomic_store(&s->reaper_done, 1);
	return NULL;
}

static void run(enum reap_style style)
{
	static struct shared s;
	memset(&s, 0, sizeof s);
	s.style = style;
	s.seen = calloc(NOPS, 1);
	CHECK(s.seen != NULL);
	if (!s.seen)
		return;
	CHECK_EQ(io_uring_queue_init(64, &s.ring, 0), 0);
	pthread_t t;
	CHECK_EQ(pthread_create(&t, NULL, reaper, &s), 0);
	unsigned long sent = 0, submit_errors = 0;
	while (sent < NOPS && !atomic_load(&s.reaper_done)) {
		if (sent - atomic_load_explicit(&s.reaped, memory_order_acquire) >= IN_FLIGHT)
			continue;
		struct io_uring_sqe *sqe = io_uring_get_sqe(&s.ring);
		if (!sqe) {
			submit_errors++;
			break;
		}
		io_uring_prep_nop(sqe);
		sqe->user_data = sent++;
		if (io_uring_submit(&s.ring) != 1)
			submit_errors++;
	}
	pthread_join(t, NULL);
	unsigned long missing = 0;
	for (unsigned long i = 0; i < sent; i++)
		missing += !s.seen[i];
	if (missing)
		fprintf(stderr, "%lu of %lu NOPs never completed\n", missing, sent);
	CHECK_EQ(sent, NOPS);
	CHECK_EQ(atomic_load(&s.reaped), NOPS);
	CHECK_EQ(missing, 0);
	CHECK_EQ(s.duplicates, 0);
	CHECK_EQ(s.bad, 0);
	CHECK_EQ(s.stalls, 0);
	CHECK_EQ(submit_errors, 0);
	CHECK_EQ(*s.ring.sq.khead, (unsigned)NOPS);
	io_uring_queue_exit(&s.ring);
	free(s.seen);
}

static void reaper_waits_with_timeout(void) { run(REAP_WAIT_TIMEOUT); }
static void reaper_polls_ready_and_peek(void) { run(REAP_READY_PEEK); }

int main(void)
{
	static const struct compat_case cases[] = {
		{"a reaper thread's wait_cqe_timeout/cqe_seen lose no SQE", reaper_waits_with_timeout},
		{"a reaper thread's cq_ready/peek_cqe/cqe_seen lose no SQE", reaper_polls_ready_and_peek},
	};
	return compat_run(cases, sizeof cases / sizeof cases[0]);
}
