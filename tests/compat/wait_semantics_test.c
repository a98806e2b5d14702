/* Where liburing 2.3's wait and submit calls answer differently from
 * uring's Ring, the compat layer answers as liburing (review 13's diffs
 * against liburing 2.3 on this kernel). */
#include <string.h>

#include <liburing.h>

#include "tests/compat/compat_check.h"

/* An 8-entry CQ (4 SQ entries). */
static int small_cq_ring(struct io_uring *ring)
{
	struct io_uring_params p;
	memset(&p, 0, sizeof p);
	p.flags = IORING_SETUP_CQSIZE;
	p.cq_entries = 8;
	return io_uring_queue_init_params(4, ring, &p);
}

static void nops(struct io_uring *ring, int n, __u64 base)
{
	for (int i = 0; i < n; i++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
		CHECK(sqe != NULL);
		if (!sqe)
			return;
		io_uring_prep_nop(sqe);
		sqe->user_data = base + (__u64)i;
	}
}

/* The kernel caps a wait's min_events at the CQ's size: waiting for more
 * CQEs than the CQ holds returns once it is full (Ring says -EINVAL). */
static void wait_for_more_than_the_cq_holds(void)
{
	struct io_uring ring;
	struct io_uring_cqe *cqe = NULL;
	struct __kernel_timespec ts = {.tv_sec = 5, .tv_nsec = 0};
	CHECK_EQ(small_cq_ring(&ring), 0);
	CHECK_EQ(ring.cq.ring_entries, 8);
	nops(&ring, 4, 1);
	CHECK_EQ(io_uring_submit(&ring), 4);
	nops(&ring, 4, 5);
	CHECK_EQ(io_uring_submit(&ring), 4);
	CHECK_EQ(io_uring_wait_cqes(&ring, &cqe, 20, &ts, NULL), 0);
	CHECK(cqe != NULL && cqe->user_data == 1);
	cqe = NULL;
	CHECK_EQ(io_uring_wait_cqe_nr(&ring, &cqe, 20), 0);
	CHECK(cqe != NULL && cqe->user_data == 1);
	cqe = NULL;
	CHECK_EQ(__io_uring_get_cqe(&ring, &cqe, 0, 9, NULL), 0);
	CHECK(cqe != NULL && cqe->user_data == 1);
	CHECK_EQ(io_uring_cq_ready(&ring), 8);
	io_uring_cq_advance(&ring, 8);
	io_uring_queue_exit(&ring);
}

/* Nothing to submit, nothing to wait for, no CQE: -EAGAIN, as liburing's
 * get-CQE loop; with a CQE ready, 0 and that CQE. A timed wait that runs
 * out after submitting is -ETIME (the 2.3 man page's "most common failure
 * case"). */
static void submit_and_wait_timeout_with_nothing(void)
{
	struct io_uring ring;
	struct io_uring_cqe *cqe = (struct io_uring_cqe *)&ring; /* not NULL */
	struct __kernel_timespec zero = {.tv_sec = 0, .tv_nsec = 0};
	CHECK_EQ(small_cq_ring(&ring), 0);
	CHECK_EQ(io_uring_submit_and_wait_timeout(&ring, &cqe, 0, NULL, NULL), -EAGAIN);
	CHECK(cqe == NULL);
	cqe = (struct io_uring_cqe *)&ring;
	CHECK_EQ(io_uring_submit_and_wait_timeout(&ring, &cqe, 0, &zero, NULL), -EAGAIN);
	CHECK(cqe == NULL);
	nops(&ring, 1, 42);
	CHECK_EQ(io_uring_submit(&ring), 1);
	CHECK_EQ(io_uring_wait_cqe_nr(&ring, &cqe, 1), 0);
	cqe = NULL;
	CHECK_EQ(io_uring_submit_and_wait_timeout(&ring, &cqe, 0, NULL, NULL), 0);
	CHECK(cqe != NULL && cqe->user_data == 42);
	io_uring_cq_advance(&ring, 1);
	nops(&ring, 2, 50); /* submitted, nothing waited for: the count */
	CHECK_EQ(io_uring_submit_and_wait_timeout(&ring, &cqe, 0, NULL, NULL), 2);
	CHECK_EQ(io_uring_wait_cqe_nr(&ring, &cqe, 2), 0);
	io_uring_cq_advance(&ring, 2);
	io_uring_queue_exit(&ring);
}

/* __io_uring_get_cqe's `submit` is how many SQEs the kernel is to submit of
 * those published already (liburing's callers flush first): it publishes
 * nothing and submits no more. */
static void get_cqe_submits_the_count_given(void)
{
	struct io_uring ring;
	struct io_uring_cqe *cqe = NULL;
	CHECK_EQ(small_cq_ring(&ring), 0);
	nops(&ring, 2, 70);
	CHECK_EQ(__io_uring_flush_sq(&ring), 2);
	CHECK_EQ(*ring.sq.ktail, 2);
	CHECK_EQ(__io_uring_get_cqe(&ring, &cqe, 1, 1, NULL), 0);
	CHECK(cqe != NULL && cqe->user_data == 70);
	CHECK_EQ(*ring.sq.khead, 1);
	CHECK_EQ(io_uring_sq_ready(&ring), 1);
	CHECK_EQ(io_uring_cq_ready(&ring), 1);
	io_uring_cq_advance(&ring, 1);
	nops(&ring, 1, 72); /* taken, not published: submit 2 reaches only the one published */
	CHECK_EQ(__io_uring_get_cqe(&ring, &cqe, 2, 1, NULL), 0);
	CHECK(cqe != NULL && cqe->user_data == 71);
	CHECK_EQ(*ring.sq.ktail, 2);
	CHECK_EQ(io_uring_sq_ready(&ring), 1);
	io_uring_cq_advance(&ring, 1);
	CHECK_EQ(io_uring_submit(&ring), 1);
	CHECK_EQ(io_uring_wait_cqe(&ring, &cqe), 0);
	CHECK(cqe != NULL && cqe->user_data == 72);
	io_uring_cq_advance(&ring, 1);
	io_uring_queue_exit(&ring);
}

/* __io_uring_peek_cqe (static inline in liburing 2.3): the oldest CQE or
 * NULL, and how many are ready, without entering or consuming. */
static void peek_cqe_with_count(void)
{
	struct io_uring ring;
	struct io_uring_cqe *cqe = (struct io_uring_cqe *)&ring;
	unsigned available = 99;
	CHECK_EQ(small_cq_ring(&ring), 0);
	CHECK_EQ(__io_uring_peek_cqe(&ring, &cqe, &available), 0);
	CHECK(cqe == NULL);
	CHECK_EQ(available, 0);
	nops(&ring, 3, 80);
	CHECK_EQ(io_uring_submit_and_wait(&ring, 3), 3);
	CHECK_EQ(__io_uring_peek_cqe(&ring, &cqe, &available), 0);
	CHECK(cqe != NULL && cqe->user_data == 80);
	CHECK_EQ(available, 3);
	CHECK_EQ(__io_uring_peek_cqe(&ring, &cqe, NULL), 0); /* the count is optional */
	CHECK_EQ(io_uring_cq_ready(&ring), 3);
	io_uring_cq_advance(&ring, 3);
	io_uring_queue_exit(&ring);
}

int main(void)
{
	static const struct compat_case cases[] = {
		{"waiting for more CQEs than the CQ holds returns when it is full", wait_for_more_than_the_cq_holds},
		{"submit_and_wait_timeout with nothing queued or ready is -EAGAIN", submit_and_wait_timeout_with_nothing},
		{"__io_uring_get_cqe submits the count given, of what is published", get_cqe_submits_the_count_given},
		{"__io_uring_peek_cqe gives the oldest CQE and the count ready", peek_cqe_with_count},
	};
	return compat_run(cases, (int)(sizeof cases / sizeof cases[0]));
}
