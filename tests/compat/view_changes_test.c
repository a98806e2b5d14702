/* What liburing programs do to struct io_uring behind the library's back,
 * and liburing honours because the struct is its state:
 *  - replace ring_fd (and enter_ring_fd) with a dup of the ring fd, closing
 *    the original or not (liburing's test/sq-poll-dup): later calls enter
 *    and register through the new fd, and io_uring_queue_exit closes that
 *    one, never the fd number the ring started with;
 *  - keep the struct in MAP_SHARED memory and submit through it from both
 *    sides of a fork (liburing's test/across-fork): each side carries on
 *    from the SQ tail the other left in sq.sqe_tail. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <liburing.h>

#include "tests/compat/compat_check.h"

static bool fd_is_open(int fd) { return fcntl(fd, F_GETFD) >= 0; }

/* One NOP with `user_data`, submitted alone and reaped within a second.
 * Returns 0 when the submit said 1 and the CQE came back with res 0 and
 * the user_data; else the first thing that went wrong (for a child). */
static int nop_round_trip(struct io_uring *ring, __u64 user_data)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	struct io_uring_cqe *cqe = NULL;
	struct __kernel_timespec ts = {.tv_sec = 1, .tv_nsec = 0};
	int ret;

	CHECK(sqe != NULL);
	if (!sqe)
		return 1;
	memset(sqe, 0, sizeof *sqe);
	sqe->opcode = IORING_OP_NOP;
	sqe->fd = -1;
	sqe->user_data = user_data;
	ret = io_uring_submit(ring);
	CHECK_EQ(ret, 1);
	if (ret != 1)
		return 2;
	ret = io_uring_wait_cqe_timeout(ring, &cqe, &ts);
	CHECK_EQ(ret, 0);
	if (ret != 0 || !cqe)
		return 3;
	CHECK_EQ(cqe->user_data, user_data);
	CHECK_EQ(cqe->res, 0);
	ret = cqe->user_data == user_data && cqe->res == 0 ? 0 : 4;
	io_uring_cqe_seen(ring, cqe);
	return ret;
}

/* A registration through the ring's current fd: one file in, and out. */
static void register_round_trip(struct io_uring *ring, int file)
{
	CHECK_EQ(io_uring_register_files(ring, &file, 1), 0);
	CHECK_EQ(io_uring_unregister_files(ring), 0);
}

static void replaced_fd_with_original_closed(unsigned flags)
{
	int fds = compat_open_fds();
	struct io_uring ring;
	struct io_uring_params p;
	memset(&p, 0, sizeof p);
	p.flags = flags;
	p.sq_thread_idle = 100;
	int ret = io_uring_queue_init_params(8, &ring, &p);
	CHECK_EQ(ret, 0);
	if (ret)
		return;
	int original = ring.ring_fd;
	int dup_fd = dup(original);
	CHECK(dup_fd >= 0);
	CHECK_EQ(close(original), 0);
	ring.ring_fd = ring.enter_ring_fd = dup_fd;
	/* The original number now names another file: the lowest free fd. */
	int other = open("/dev/null", O_RDONLY | O_CLOEXEC);
	CHECK_EQ(other, original);

	CHECK_EQ(nop_round_trip(&ring, 7), 0);
	CHECK_EQ(nop_round_trip(&ring, 8), 0);
	register_round_trip(&ring, other);
	CHECK_EQ(io_uring_sq_ready(&ring), 0);
	CHECK_EQ(io_uring_cq_ready(&ring), 0);

	io_uring_queue_exit(&ring);
	CHECK(!fd_is_open(dup_fd));  /* the ring's fd, as ring_fd said */
	CHECK(fd_is_open(other));    /* not the number it started with */
	close(other);
	CHECK_EQ(compat_open_fds(), fds);
}

static void replaced_fd_closed_original(void) { replaced_fd_with_original_closed(0); }
static void replaced_fd_closed_original_sqpoll(void) { replaced_fd_with_original_closed(IORING_SETUP_SQPOLL); }

static void replaced_fd_original_kept(void)
{
	int fds = compat_open_fds();
	struct io_uring ring;
	CHECK_EQ(io_uring_queue_init(8, &ring, 0), 0);
	int original = ring.ring_fd;
	int dup_fd = dup(original);
	CHECK(dup_fd >= 0);
	ring.ring_fd = ring.enter_ring_fd = dup_fd;
	CHECK_EQ(nop_round_trip(&ring, 9), 0);
	/* The original is the program's now: liburing's queue_exit closes
	 * ring_fd alone, and so does this one. */
	CHECK_EQ(close(original), 0);
	CHECK_EQ(nop_round_trip(&ring, 10), 0);
	io_uring_queue_exit(&ring);
	CHECK(!fd_is_open(dup_fd));
	CHECK_EQ(compat_open_fds(), fds);
}

static void shared_across_fork(void)
{
	struct io_uring *ring =
		mmap(NULL, sizeof *ring, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(ring != MAP_FAILED);
	if (ring == MAP_FAILED)
		return;
	CHECK_EQ(io_uring_queue_init(8, ring, 0), 0);
	CHECK_EQ(nop_round_trip(ring, 1), 0);

	pid_t child = fork();
	CHECK(child >= 0);
	if (child == 0) {
		/* Two rounds here, so the child's tail is 3 where the parent's copy
		 * of the library's state last saw 1. */
		int ret = nop_round_trip(ring, 2);
		if (!ret)
			ret = 10 + nop_round_trip(ring, 3);
		_exit(ret == 10 ? 0 : ret);
	}
	int status = 0;
	CHECK_EQ(waitpid(child, &status, 0), child);
	CHECK(WIFEXITED(status));
	CHECK_EQ(WEXITSTATUS(status), 0);

	/* The parent goes on from the child's tail: its NOP is the 4th SQE. */
	CHECK_EQ(nop_round_trip(ring, 4), 0);
	CHECK_EQ(*ring->sq.ktail, 4);
	CHECK_EQ(*ring->sq.khead, 4);
	CHECK_EQ(ring->sq.sqe_tail, 4);
	CHECK_EQ(io_uring_sq_ready(ring), 0);
	CHECK_EQ(io_uring_cq_ready(ring), 0);
	CHECK_EQ(*ring->cq.khead, 4);
	io_uring_queue_exit(ring);
	munmap(ring, sizeof *ring);
}

/* A child's io_uring_queue_exit on a struct shared across fork ends the
 * child's copy of the ring only (its mappings and fd): liburing's leaves the
 * struct alone, so the parent's ring goes on, and the parent's own exit
 * still frees everything. */
static void child_exit_leaves_parents_ring(void)
{
	int fds = compat_open_fds();
	struct io_uring *ring =
		mmap(NULL, sizeof *ring, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(ring != MAP_FAILED);
	if (ring == MAP_FAILED)
		return;
	CHECK_EQ(io_uring_queue_init(8, ring, 0), 0);
	const int ring_fd = ring->ring_fd;
	CHECK_EQ(nop_round_trip(ring, 1), 0);

	pid_t child = fork();
	CHECK(child >= 0);
	if (child == 0) {
		int ret = nop_round_trip(ring, 2);
		io_uring_queue_exit(ring);
		io_uring_queue_exit(ring); /* a second exit does nothing */
		_exit(ret);
	}
	int status = 0;
	CHECK_EQ(waitpid(child, &status, 0), child);
	CHECK(WIFEXITED(status));
	CHECK_EQ(WEXITSTATUS(status), 0);

	CHECK_EQ(ring->ring_fd, ring_fd);
	CHECK(fd_is_open(ring_fd));
	CHECK(ring->uring_ring != NULL);
	CHECK_EQ(nop_round_trip(ring, 3), 0);
	CHECK_EQ(*ring->sq.ktail, 3);
	CHECK_EQ(io_uring_sq_ready(ring), 0);
	CHECK_EQ(io_uring_cq_ready(ring), 0);
	io_uring_queue_exit(ring);
	CHECK(!fd_is_open(ring_fd));
	CHECK_EQ(compat_open_fds(), fds);
	munmap(ring, sizeof *ring);
}

/* A second io_uring_queue_exit does nothing, even once another ring lives
 * where the first one's memory was. */
static void second_exit_does_nothing(void)
{
	int fds = compat_open_fds();
	int maps = compat_maps("io_uring");
	struct io_uring a, b;
	CHECK_EQ(io_uring_queue_init(8, &a, 0), 0);
	io_uring_queue_exit(&a);
	io_uring_queue_exit(&a);
	CHECK_EQ(compat_open_fds(), fds);
	CHECK_EQ(io_uring_queue_init(8, &b, 0), 0);
	io_uring_queue_exit(&a); /* b's state may sit where a's was */
	CHECK_EQ(nop_round_trip(&b, 5), 0);
	io_uring_queue_exit(&b);
	CHECK_EQ(compat_open_fds(), fds);
	CHECK_EQ(compat_maps("io_uring"), maps);
}

int main(void)
{
	static const struct compat_case cases[] = {
		{"ring_fd replaced by a dup, the original closed: calls use the dup, exit closes it", replaced_fd_closed_original},
		{"the same on an SQPOLL ring (liburing's sq-poll-dup)", replaced_fd_closed_original_sqpoll},
		{"ring_fd replaced by a dup, the original kept: it stays the program's", replaced_fd_original_kept},
		{"struct io_uring in MAP_SHARED memory: parent and child submit in turn (liburing's across-fork)", shared_across_fork},
		{"a child's queue_exit on a shared struct leaves the parent's ring", child_exit_leaves_parents_ring},
		{"a second queue_exit does nothing", second_exit_does_nothing},
	};
	return compat_run(cases, (int)(sizeof cases / sizeof cases[0]));
}
