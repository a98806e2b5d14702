/* The core of the liburing API from C, as liburing's users call it: setup
 * and teardown (no fd or mapping left behind), the fields of struct
 * io_uring that programs read, get_sqe/submit/wait/peek/advance,
 * io_uring_for_each_cqe, timeouts. The SQEs are filled by hand here, so
 * that this tests the queue calls alone (the prep functions have tests of
 * their own in tests/compat/prep). */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <liburing.h>

#include "tests/compat/compat_check.h"

static void nop(struct io_uring *ring, __u64 user_data)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	CHECK(sqe != NULL);
	if (sqe)
		compat_fill(sqe, IORING_OP_NOP, -1, NULL, 0, 0, user_data);
}

/* Every mapping of the process back where it was. Under ASan or TSan their
 * allocators map memory of their own meanwhile, so there only the ring's
 * mappings (checked above) are compared; LeakSanitizer covers the rest. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define CHECK_MAPS_UNCHANGED(before) ((void)(before))
#else
#define CHECK_MAPS_UNCHANGED(before) CHECK_EQ(compat_maps(NULL), (before))
#endif

static void setup_teardown_leaves_nothing(void)
{
	int fds = compat_open_fds(), maps = compat_maps(NULL), ring_maps = compat_maps("io_uring");
	struct io_uring ring;
	CHECK_EQ(io_uring_queue_init(8, &ring, 0), 0);
	int fd = ring.ring_fd;
	CHECK(fd >= 0);
	CHECK_EQ(compat_open_fds(), fds + 1);
	CHECK(compat_maps("io_uring") > ring_maps);
	io_uring_queue_exit(&ring);
	CHECK(fcntl(fd, F_GETFD) < 0);
	CHECK_EQ(compat_open_fds(), fds);
	CHECK_EQ(compat_maps("io_uring"), ring_maps);
	CHECK_MAPS_UNCHANGED(maps);
	/* A failed setup leaves nothing either, and says why. */
	CHECK_EQ(io_uring_queue_init(0, &ring, 0), -EINVAL);
	CHECK_EQ(io_uring_queue_init(8, &ring, 1u << 31), -EINVAL);
	CHECK_EQ(compat_open_fds(), fds);
	CHECK_MAPS_UNCHANGED(maps);
}

static void fields_tell_the_truth(void)
{
	struct io_uring ring;
	struct io_uring_params p;
	memset(&p, 0, sizeof p);
	p.flags = IORING_SETUP_CQSIZE;
	p.cq_entries = 64;
	CHECK_EQ(io_uring_queue_init_params(8, &ring, &p), 0);
	/* The kernel's answer came back in p, and the view agrees with it. */
	CHECK_EQ(p.sq_entries, 8);
	CHECK_EQ(p.cq_entries, 64);
	CHECK(p.features & IORING_FEAT_SINGLE_MMAP);
	CHECK_EQ(ring.features, p.features);
	CHECK_EQ(ring.flags, IORING_SETUP_CQSIZE);
	CHECK_EQ(ring.enter_ring_fd, ring.ring_fd);
	CHECK_EQ(ring.int_flags, 0);
	CHECK_EQ(ring.sq.ring_entries, 8);
	CHECK_EQ(ring.sq.ring_mask, 7);
	CHECK_EQ(*ring.sq.kring_entries, 8);
	CHECK_EQ(*ring.sq.kring_mask, 7);
	CHECK_EQ(ring.cq.ring_entries, 64);
	CHECK_EQ(ring.cq.ring_mask, 63);
	CHECK_EQ(*ring.cq.kring_entries, 64);
	CHECK_EQ(*ring.cq.kring_mask, 63);
	CHECK(ring.sq.ring_ptr == ring.cq.ring_ptr); /* FEAT_SINGLE_MMAP */
	CHECK((char *)ring.sq.khead == (char *)ring.sq.ring_ptr + p.sq_off.head);
	CHECK((char *)ring.sq.ktail == (char *)ring.sq.ring_ptr + p.sq_off.tail);
	CHECK((char *)ring.sq.kflags == (char *)ring.sq.ring_ptr + p.sq_off.flags);
	CHECK((char *)ring.sq.kdropped == (char *)ring.sq.ring_ptr + p.sq_off.dropped);
	CHECK((char *)ring.sq.array == (char *)ring.sq.ring_ptr + p.sq_off.array);
	CHECK((char *)ring.cq.khead == (char *)ring.cq.ring_ptr + p.cq_off.head);
	CHECK((char *)ring.cq.ktail == (char *)ring.cq.ring_ptr + p.cq_off.tail);
	CHECK((char *)ring.cq.koverflow == (char *)ring.cq.ring_ptr + p.cq_off.overflow);
	CHECK((char *)ring.cq.kflags == (char *)ring.cq.ring_ptr + p.cq_off.flags);
	CHECK((char *)ring.cq.cqes == (char *)ring.cq.ring_ptr + p.cq_off.cqes);
	CHECK(ring.sq.ring_sz >= p.sq_off.array + 8 * sizeof(unsigned));
	CHECK(ring.sq.ring_sz >= p.cq_off.cqes + 64 * sizeof(struct io_uring_cqe));
	CHECK_EQ(*ring.cq.koverflow, 0);
	CHECK_EQ(*ring.sq.kdropped, 0);

	/* sqe_tail follows get_sqe; sqe_head and *ktail follow submit. */
	unsigned start = ring.sq.sqe_tail;
	CHECK_EQ(ring.sq.sqe_head, start);
	struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
	CHECK(sqe == &ring.sq.sqes[start & ring.sq.ring_mask]);
	compat_fill(sqe, IORING_OP_NOP, -1, NULL, 0, 0, 1);
	CHECK_EQ(ring.sq.sqe_tail, start + 1);
	CHECK_EQ(ring.sq.sqe_head, start);
	CHECK_EQ(io_uring_sq_ready(&ring), 1);
	CHECK_EQ(io_uring_sq_space_left(&ring), 7);
	CHECK_EQ(*ring.sq.ktail, start);
	CHECK_EQ(io_uring_submit(&ring), 1);
	CHECK_EQ(ring.sq.sqe_head, start + 1);
	CHECK_EQ(*ring.sq.ktail, start + 1);
	CHECK_EQ(*ring.sq.khead, start + 1);
	CHECK_EQ(io_uring_sq_ready(&ring), 0);
	struct io_uring_cqe *cqe = NULL;
	CHECK_EQ(io_uring_wait_cqe(&ring, &cqe), 0);
	CHECK(cqe == &ring.cq.cqes[*ring.cq.khead & ring.cq.ring_mask]);
	CHECK_EQ(*ring.cq.ktail - *ring.cq.khead, 1);
	io_uring_cqe_seen(&ring, cqe);
	CHECK_EQ(*ring.cq.ktail, *ring.cq.khead);
	io_uring_queue_exit(&ring);
}

static void nops_round_trip_their_user_data(void)
{
	struct io_uring ring;
	CHECK_EQ(io_uring_queue_init(8, &ring, 0), 0);
	struct io_uring_cqe *cqe = NULL;
	CHECK_EQ(io_uring_peek_cqe(&ring, &cqe), -EAGAIN);
	CHECK(cqe == NULL);
	for (int i = 0; i < 8; i++)
		nop(&ring, 100 + i);
	CHECK(io_uring_get_sqe(&ring) == NULL); /* full */
	CHECK_EQ(io_uring_sq_space_left(&ring), 0);
	CHECK_EQ(io_uring_submit_and_wait(&ring, 8), 8);
	CHECK_EQ(io_uring_cq_ready(&ring), 8);
	for (int i = 0; i < 3; i++) {
		CHECK_EQ(io_uring_peek_cqe(&ring, &cqe), 0);
		CHECK_EQ(cqe->user_data, 100 + i);
		CHECK_EQ(cqe->res, 0);
		io_uring_cqe_seen(&ring, cqe);
	}
	CHECK_EQ(io_uring_cq_ready(&ring), 5);
	struct io_uring_cqe *batch[8];
	CHECK_EQ(io_uring_peek_batch_cqe(&ring, batch, 8), 5);
	for (int i = 0; i < 5; i++)
		CHECK_EQ(batch[i]->user_data, 103 + i);
	CHECK_EQ(io_uring_peek_batch_cqe(&ring, batch, 2), 2);
	unsigned head, seen = 0;
	__u64 sum = 0;
	io_uring_for_each_cqe(&ring, head, cqe) {
		sum += cqe->user_data;
		seen++;
	}
	CHECK_EQ(seen, 5);
	CHECK_EQ(sum, 103 + 104 + 105 + 106 + 107);
	io_uring_cq_advance(&ring, seen);
	CHECK_EQ(io_uring_cq_ready(&ring), 0);
	CHECK_EQ(io_uring_peek_cqe(&ring, &cqe), -EAGAIN);

	/* wait_cqe_nr waits for several; submit_and_wait_timeout reports the count. */
	for (int i = 0; i < 4; i++)
		nop(&ring, 200 + i);
	CHECK_EQ(io_uring_submit(&ring), 4);
	CHECK_EQ(io_uring_wait_cqe_nr(&ring, &cqe, 4), 0);
	CHECK_EQ(cqe->user_data, 200);
	CHECK_EQ(io_uring_cq_ready(&ring), 4);
	io_uring_cq_advance(&ring, 4);
	nop(&ring, 300);
	nop(&ring, 301);
	struct __kernel_timespec ts = {.tv_sec = 1, .tv_nsec = 0};
	CHECK_EQ(io_uring_submit_and_wait_timeout(&ring, &cqe, 2, &ts, NULL), 2);
	CHECK(cqe != NULL && cqe->user_data == 300);
	CHECK_EQ(io_uring_cq_ready(&ring), 2);
	io_uring_cq_advance(&ring, 2);
	io_uring_queue_exit(&ring);
}

static void a_read_brings_the_file_bytes(void)
{
	char path[] = "/tmp/uring_compat_queue_XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	unlink(path);
	char data[4096];
	for (unsigned i = 0; i < sizeof data; i++)
		data[i] = (char)(i * 7 + 3);
	CHECK_EQ(write(fd, data, sizeof data), sizeof data);
	struct io_uring ring;
	CHECK_EQ(io_uring_queue_init(4, &ring, 0), 0);
	char got[1000];
	memset(got, 0, sizeof got);
	struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
	compat_fill(sqe, IORING_OP_READ, fd, got, sizeof got, 1000, 42);
	CHECK_EQ(io_uring_submit(&ring), 1);
	struct io_uring_cqe *cqe = NULL;
	CHECK_EQ(io_uring_wait_cqe(&ring, &cqe), 0);
	CHECK_EQ(cqe->user_data, 42);
	CHECK_EQ(cqe->res, (int)sizeof got);
	CHECK(memcmp(got, data + 1000, sizeof got) == 0);
	io_uring_cqe_seen(&ring, cqe);
	io_uring_queue_exit(&ring);
	close(fd);
}

static void timeouts_end_with_etime(void)
{
	struct io_uring ring;
	CHECK_EQ(io_uring_queue_init(4, &ring, 0), 0);
	struct io_uring_cqe *cqe = (struct io_uring_cqe *)1;
	struct __kernel_timespec ts = {.tv_sec = 0, .tv_nsec = 20 * 1000 * 1000};
	CHECK_EQ(io_uring_wait_cqe_timeout(&ring, &cqe, &ts), -ETIME);
	CHECK(cqe == NULL);
	/* A TIMEOUT request completes with -ETIME too, as a CQE. */
	struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
	compat_fill(sqe, IORING_OP_TIMEOUT, -1, &ts, 1, 0, 9);
	CHECK_EQ(io_uring_submit(&ring), 1);
	CHECK_EQ(io_uring_wait_cqe(&ring, &cqe), 0);
	CHECK_EQ(cqe->user_data, 9);
	CHECK_EQ(cqe->res, -ETIME);
	io_uring_cqe_seen(&ring, cqe);
	/* wait_cqes for more than arrive: when the time is up with one CQE
	 * there, that one is handed out with success (liburing does the same:
	 * the kernel reports 0 when the CQ is not empty at the end). */
	nop(&ring, 5);
	CHECK_EQ(io_uring_submit(&ring), 1);
	CHECK_EQ(io_uring_wait_cqes(&ring, &cqe, 2, &ts, NULL), 0);
	CHECK(cqe != NULL && cqe->user_data == 5);
	CHECK_EQ(io_uring_cq_ready(&ring), 1);
	io_uring_cqe_seen(&ring, cqe);
	/* submit_and_wait_timeout: the same, and it reports what it submitted. */
	nop(&ring, 6);
	CHECK_EQ(io_uring_submit_and_wait_timeout(&ring, &cqe, 2, &ts, NULL), 1);
	CHECK(cqe != NULL && cqe->user_data == 6);
	io_uring_cqe_seen(&ring, cqe);
	CHECK_EQ(io_uring_submit_and_wait_timeout(&ring, &cqe, 1, &ts, NULL), -ETIME);
	CHECK(cqe == NULL);
	io_uring_queue_exit(&ring);
}

static void queue_mmap_adopts_a_ring_set_up_by_hand(void)
{
	int fds = compat_open_fds();
	struct io_uring_params p;
	memset(&p, 0, sizeof p);
	int fd = io_uring_setup(4, &p);
	CHECK(fd >= 0);
	struct io_uring ring;
	CHECK_EQ(io_uring_queue_mmap(fd, &p, &ring), 0);
	CHECK_EQ(ring.ring_fd, fd);
	CHECK_EQ(ring.sq.ring_entries, 4);
	nop(&ring, 77);
	struct io_uring_cqe *cqe = NULL;
	CHECK_EQ(io_uring_submit_and_wait(&ring, 1), 1);
	CHECK_EQ(io_uring_peek_cqe(&ring, &cqe), 0);
	CHECK_EQ(cqe->user_data, 77);
	io_uring_cqe_seen(&ring, cqe);
	CHECK_EQ(io_uring_ring_dontfork(&ring), 0);
	io_uring_queue_exit(&ring); /* the ring owns the fd now */
	CHECK(fcntl(fd, F_GETFD) < 0);
	CHECK_EQ(compat_open_fds(), fds);
	/* Not a ring: refused, and the fd stays the caller's. */
	int not_ring = open("/dev/null", O_RDONLY);
	CHECK(io_uring_queue_mmap(not_ring, &p, &ring) < 0);
	CHECK(fcntl(not_ring, F_GETFD) >= 0);
	close(not_ring);
}

int main(void)
{
	static const struct compat_case cases[] = {
		{"setup and teardown leave no fd or mapping", setup_teardown_leaves_nothing},
		{"struct io_uring's fields tell the truth", fields_tell_the_truth},
		{"NOPs round-trip their user_data; for_each_cqe and cq_advance count", nops_round_trip_their_user_data},
		{"a read brings the file's bytes", a_read_brings_the_file_bytes},
		{"timeouts end with -ETIME", timeouts_end_with_etime},
		{"queue_mmap adopts a ring set up by hand", queue_mmap_adopts_a_ring_set_up_by_hand},
	};
	return compat_run(cases, sizeof cases / sizeof cases[0]);
}
