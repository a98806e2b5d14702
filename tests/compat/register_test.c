/* The registration calls and the other non-queue calls of the liburing API
 * from C: registered files and buffers used by fixed reads (the bytes
 * come back), file updates, the ring fd registered / unregistered /
 * closed (enter_ring_fd and int_flags say so, and the ring keeps working),
 * the probe, eventfd, personalities, buffer rings, versions. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <liburing.h>

#include "tests/compat/compat_check.h"

static char data[8192];

static int temp_file(void)
{
	char path[] = "/tmp/uring_compat_register_XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	unlink(path);
	for (unsigned i = 0; i < sizeof data; i++)
		data[i] = (char)(i * 13 + 1);
	CHECK_EQ(write(fd, data, sizeof data), sizeof data);
	return fd;
}

/* Submits the one SQE taken and returns its CQE's result (checking user_data). */
static int run_one(struct io_uring *ring, __u64 user_data)
{
	struct io_uring_cqe *cqe = NULL;
	CHECK_EQ(io_uring_submit(ring), 1);
	CHECK_EQ(io_uring_wait_cqe(ring, &cqe), 0);
	if (!cqe)
		return -9999;
	CHECK_EQ(cqe->user_data, user_data);
	int res = cqe->res;
	io_uring_cqe_seen(ring, cqe);
	return res;
}

static void registered_files_and_buffers_serve_fixed_reads(void)
{
	int fd = temp_file();
	struct io_uring ring;
	CHECK_EQ(io_uring_queue_init(8, &ring, 0), 0);
	int files[3] = {-1, fd, -1};
	CHECK_EQ(io_uring_register_files(&ring, files, 3), 0);
	char *buf = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct iovec iov = {.iov_base = buf, .iov_len = 8192};
	CHECK_EQ(io_uring_register_buffers(&ring, &iov, 1), 0);

	/* READ_FIXED through registered file slot 1 into registered buffer 0. */
	struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
	compat_fill(sqe, IORING_OP_READ_FIXED, 1, buf + 100, 3000, 500, 11);
	sqe->flags = IOSQE_FIXED_FILE;
	sqe->buf_index = 0;
	CHECK_EQ(run_one(&ring, 11), 3000);
	CHECK(memcmp(buf + 100, data + 500, 3000) == 0);

	/* Slot 0 is empty: the kernel refuses it. */
	sqe = io_uring_get_sqe(&ring);
	compat_fill(sqe, IORING_OP_READ, 0, buf, 10, 0, 12);
	sqe->flags = IOSQE_FIXED_FILE;
	CHECK_EQ(run_one(&ring, 12), -EBADF);

	/* Update slot 0 to the file: the kernel's count comes back. */
	int update[1] = {fd};
	CHECK_EQ(io_uring_register_files_update(&ring, 0, update, 1), 1);
	sqe = io_uring_get_sqe(&ring);
	compat_fill(sqe, IORING_OP_READ, 0, buf, 10, 20, 13);
	sqe->flags = IOSQE_FIXED_FILE;
	CHECK_EQ(run_one(&ring, 13), 10);
	CHECK(memcmp(buf, data + 20, 10) == 0);

	/* A second table is the kernel's -EBUSY; unregistering works once. */
	CHECK_EQ(io_uring_register_files(&ring, files, 3), -EBUSY);
	CHECK_EQ(io_uring_unregister_files(&ring), 0);
	CHECK_EQ(io_uring_unregister_files(&ring), -ENXIO);
	CHECK_EQ(io_uring_unregister_buffers(&ring), 0);
	CHECK_EQ(io_uring_unregister_buffers(&ring), -ENXIO);

	/* Sparse tables with tags: the update's tag comes back as a CQE when the slot is replaced. */
	CHECK_EQ(io_uring_register_files_sparse(&ring, 4), 0);
	__u64 tag = 0xabcdef;
	CHECK_EQ(io_uring_register_files_update_tag(&ring, 2, &fd, &tag, 1), 1);
	int empty = -1;
	__u64 no_tag = 0;
	CHECK_EQ(io_uring_register_files_update_tag(&ring, 2, &empty, &no_tag, 1), 1);
	struct io_uring_cqe *cqe = NULL;
	CHECK_EQ(io_uring_wait_cqe(&ring, &cqe), 0);
	CHECK(cqe && cqe->user_data == tag);
	io_uring_cqe_seen(&ring, cqe);
	CHECK_EQ(io_uring_register_buffers_sparse(&ring, 2), 0);
	CHECK_EQ(io_uring_register_buffers_update_tag(&ring, 1, &iov, NULL, 1), 1);
	CHECK_EQ(io_uring_register_file_alloc_range(&ring, 1, 2), 0);
	io_uring_queue_exit(&ring);
	munmap(buf, 8192);
	close(fd);
}

static void the_ring_fd_registered_unregistered_and_closed(void)
{
	int fds = compat_open_fds();
	struct io_uring ring;
	CHECK_EQ(io_uring_queue_init(4, &ring, 0), 0);
	CHECK_EQ(io_uring_unregister_ring_fd(&ring), -EINVAL);
	CHECK_EQ(io_uring_register_ring_fd(&ring), 1);
	CHECK(ring.enter_ring_fd >= 0);
	CHECK(ring.enter_ring_fd != ring.ring_fd || ring.ring_fd == 0);
	CHECK_EQ(ring.int_flags & URING_INT_FLAG_REG_RING, URING_INT_FLAG_REG_RING);
	/* The index is the kernel's: entering through it works. */
	CHECK_EQ(io_uring_enter(ring.enter_ring_fd, 0, 0, IORING_ENTER_REGISTERED_RING, NULL), 0);
	compat_fill(io_uring_get_sqe(&ring), IORING_OP_NOP, -1, NULL, 0, 0, 1);
	CHECK_EQ(run_one(&ring, 1), 0);
	CHECK_EQ(io_uring_unregister_ring_fd(&ring), 1);
	CHECK_EQ(ring.enter_ring_fd, ring.ring_fd);
	CHECK_EQ(ring.int_flags & URING_INT_FLAG_REG_RING, 0);
	compat_fill(io_uring_get_sqe(&ring), IORING_OP_NOP, -1, NULL, 0, 0, 2);
	CHECK_EQ(run_one(&ring, 2), 0);

	if (ring.features & IORING_FEAT_REG_REG_RING) {
		CHECK_EQ(io_uring_close_ring_fd(&ring), -EINVAL); /* not registered */
		CHECK_EQ(io_uring_register_ring_fd(&ring), 1);
		int fd = ring.ring_fd;
		CHECK_EQ(io_uring_close_ring_fd(&ring), 1);
		CHECK_EQ(ring.ring_fd, -1);
		CHECK(fcntl(fd, F_GETFD) < 0);
		CHECK_EQ(compat_open_fds(), fds);
		compat_fill(io_uring_get_sqe(&ring), IORING_OP_NOP, -1, NULL, 0, 0, 3);
		CHECK_EQ(run_one(&ring, 3), 0);
		struct io_uring_probe *probe = io_uring_get_probe_ring(&ring); /* a register call via the index */
		CHECK(probe != NULL);
		io_uring_free_probe(probe);
	} else {
		printf("uring-skip: [close_ring_fd] needs IORING_FEAT_REG_REG_RING (Linux 6.3)\n");
	}
	io_uring_queue_exit(&ring);
	CHECK_EQ(compat_open_fds(), fds);
}

static void probe_eventfd_personality(void)
{
	struct io_uring_probe *probe = io_uring_get_probe();
	CHECK(probe != NULL);
	if (probe) {
		CHECK(probe->last_op >= IORING_OP_READ);
		CHECK(io_uring_opcode_supported(probe, IORING_OP_NOP));
		CHECK(io_uring_opcode_supported(probe, IORING_OP_READ));
		CHECK(!io_uring_opcode_supported(probe, probe->last_op + 1));
		CHECK(!io_uring_opcode_supported(probe, -1));
		io_uring_free_probe(probe);
	}
	struct io_uring ring;
	CHECK_EQ(io_uring_queue_init(4, &ring, 0), 0);
	int efd = eventfd(0, EFD_CLOEXEC);
	CHECK_EQ(io_uring_register_eventfd(&ring, efd), 0);
	CHECK_EQ(io_uring_register_eventfd(&ring, efd), -EBUSY);
	CHECK(io_uring_cq_eventfd_enabled(&ring));
	compat_fill(io_uring_get_sqe(&ring), IORING_OP_NOP, -1, NULL, 0, 0, 4);
	CHECK_EQ(run_one(&ring, 4), 0);
	eventfd_t count = 0;
	CHECK_EQ(eventfd_read(efd, &count), 0);
	CHECK_EQ(count, 1);
	CHECK_EQ(io_uring_cq_eventfd_toggle(&ring, false), 0);
	CHECK(!io_uring_cq_eventfd_enabled(&ring));
	CHECK(*ring.cq.kflags & IORING_CQ_EVENTFD_DISABLED);
	CHECK_EQ(io_uring_cq_eventfd_toggle(&ring, true), 0);
	CHECK_EQ(io_uring_unregister_eventfd(&ring), 0);
	CHECK_EQ(io_uring_unregister_eventfd(&ring), -ENXIO);
	close(efd);
	int id = io_uring_register_personality(&ring);
	CHECK(id > 0);
	CHECK_EQ(io_uring_unregister_personality(&ring, id), 0);
	CHECK_EQ(io_uring_unregister_personality(&ring, id), -EINVAL);
	unsigned workers[2] = {0, 0};
	CHECK_EQ(io_uring_register_iowq_max_workers(&ring, workers), 0);
	CHECK(workers[0] > 0 && workers[1] > 0);
	io_uring_queue_exit(&ring);
}

static void a_buffer_ring_feeds_a_read(void)
{
	int fd = temp_file();
	struct io_uring ring;
	CHECK_EQ(io_uring_queue_init(4, &ring, 0), 0);
	const unsigned entries = 8;
	struct io_uring_buf_ring *br =
		mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct io_uring_buf_reg reg;
	memset(&reg, 0, sizeof reg);
	reg.ring_addr = (unsigned long)br;
	reg.ring_entries = entries;
	reg.bgid = 7;
	CHECK_EQ(io_uring_register_buf_ring(&ring, &reg, 0), 0);
	io_uring_buf_ring_init(br);
	static char bufs[2][256];
	int mask = io_uring_buf_ring_mask(entries);
	CHECK_EQ(mask, 7);
	io_uring_buf_ring_add(br, bufs[0], sizeof bufs[0], 40, mask, 0);
	io_uring_buf_ring_add(br, bufs[1], sizeof bufs[1], 41, mask, 1);
	io_uring_buf_ring_advance(br, 2);
	CHECK_EQ(br->tail, 2);
	struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
	compat_fill(sqe, IORING_OP_READ, fd, NULL, 100, 64, 21);
	sqe->flags = IOSQE_BUFFER_SELECT;
	sqe->buf_group = 7;
	CHECK_EQ(io_uring_submit(&ring), 1);
	struct io_uring_cqe *cqe = NULL;
	CHECK_EQ(io_uring_wait_cqe(&ring, &cqe), 0);
	CHECK(cqe != NULL);
	if (cqe) {
		CHECK_EQ(cqe->res, 100);
		CHECK(cqe->flags & IORING_CQE_F_BUFFER);
		CHECK_EQ(cqe->flags >> IORING_CQE_BUFFER_SHIFT, 40);
		CHECK(memcmp(bufs[0], data + 64, 100) == 0);
	}
	/* Hand the buffer back and the CQE in one go. */
	io_uring_buf_ring_add(br, bufs[0], sizeof bufs[0], 40, mask, 0);
	io_uring_buf_ring_cq_advance(&ring, br, 1);
	CHECK_EQ(br->tail, 3);
	CHECK_EQ(io_uring_cq_ready(&ring), 0);
	CHECK_EQ(io_uring_unregister_buf_ring(&ring, 7), 0);
	CHECK_EQ(io_uring_unregister_buf_ring(&ring, 7), -ENOENT);
	io_uring_queue_exit(&ring);
	munmap(br, 4096);
	close(fd);
}

static void versions_and_mlock_size(void)
{
	CHECK_EQ(io_uring_major_version(), IO_URING_VERSION_MAJOR);
	CHECK_EQ(io_uring_minor_version(), IO_URING_VERSION_MINOR);
	CHECK(io_uring_check_version(IO_URING_VERSION_MAJOR, IO_URING_VERSION_MINOR));
	CHECK(!io_uring_check_version(IO_URING_VERSION_MAJOR, IO_URING_VERSION_MINOR - 1));
	CHECK(io_uring_check_version(IO_URING_VERSION_MAJOR + 1, 0));
	/* This kernel (5.12 or later) charges rings to the memory cgroup. */
	struct io_uring_params p;
	memset(&p, 0, sizeof p);
	int fd = io_uring_setup(2, &p);
	CHECK(fd >= 0);
	close(fd);
	if (p.features & IORING_FEAT_NATIVE_WORKERS)
		CHECK_EQ(io_uring_mlock_size(64, 0), 0);
}

int main(void)
{
	static const struct compat_case cases[] = {
		{"registered files and buffers serve fixed reads", registered_files_and_buffers_serve_fixed_reads},
		{"the ring fd: registered, unregistered, closed", the_ring_fd_registered_unregistered_and_closed},
		{"probe, eventfd, personality, io-wq workers", probe_eventfd_personality},
		{"a buffer ring feeds a read", a_buffer_ring_feeds_a_read},
		{"versions and mlock_size", versions_and_mlock_size},
	};
	return compat_run(cases, sizeof cases / sizeof cases[0]);
}
