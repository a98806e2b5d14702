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

int main(void)
{
	static const struct compat_case cases[] = {
		{"waiting for more CQEs than the CQ holds returns when it is full", wait_for_more_than_the_cq_holds},
	};
	return compat_run(cases, (int)(sizeof cases / sizeof cases[0]));
}
