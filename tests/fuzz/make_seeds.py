#!/usr/bin/env python3
"""Writes the seed corpus of each fuzz target to tests/fuzz/corpus/<target>/.

Deterministic (a fixed random seed), small: a few dozen files per target,
each a few hundred bytes at most, laid out as the target reads its input
(see the comment at the top of each *_fuzz.cc). Files named found-* are
inputs a fuzzing run found (kept, never rewritten). Run it again after changing
an input format: python3 tests/fuzz/make_seeds.py
"""
import os
import random
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def write(target, name, data):
    folder = os.path.join(HERE, "corpus", target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(bytes(data))


def clear(target):
    folder = os.path.join(HERE, "corpus", target)
    if os.path.isdir(folder):
        for name in os.listdir(folder):
            if name.startswith("found-"):  # inputs the fuzzer found: kept as they are
                continue
            os.remove(os.path.join(folder, name))


def recvmsg_header(namelen, controllen, payloadlen, flags):
    return struct.pack("<IIII", namelen, controllen, payloadlen, flags)


def cmsg(level, typ, data):
    # struct cmsghdr on 64-bit Linux: size_t cmsg_len, int level, int type; data 8-aligned.
    length = 16 + len(data)
    padded = data + b"\0" * ((-len(data)) % 8)
    return struct.pack("<QII", length, level, typ) + padded


def recvmsg_seeds(rng):
    target = "recvmsg_out_fuzz"
    clear(target)
    MSG_TRUNC, MSG_CTRUNC = 0x20, 0x8
    # Raw mode (first byte even): shape, rooms, result kind/value, then the buffer.
    layouts = [
        # (name room, control room, address length, controls, payload, flags)
        (16, 0, 16, [], b"hello", 0),
        (16, 32, 16, [(1, 1, b"\x07\0\0\0")], b"payload", 0),        # SOL_SOCKET SCM_RIGHTS-like
        (28, 64, 28, [(41, 50, b"A" * 20), (0, 8, b"B" * 12)], b"x" * 40, 0),
        (8, 24, 16, [(0, 8, b"C" * 12)], b"", MSG_CTRUNC),            # address cut at its room
        (0, 0, 0, [], b"z" * 100, MSG_TRUNC),
        (16, 16, 16, [], b"", 0),
        (110, 0, 110, [], b"unix", 0),                                # sockaddr_un
        (16, 40, 16, [(1, 29, b"\x01" * 16)], b"ts", 0),              # SO_TIMESTAMPNS-like
    ]
    for i, (name_room, control_room, addr_len, controls, payload, flags) in enumerate(layouts):
        control = b"".join(cmsg(*c) for c in controls)[:control_room]
        header = recvmsg_header(addr_len, len(control), len(payload), flags)
        name = bytes(rng.randrange(256) for _ in range(min(addr_len, name_room)))
        name += b"\0" * (name_room - len(name))
        buf = header + name + control + b"\0" * (control_room - len(control)) + payload
        params = bytes([0, 0, name_room]) + struct.pack("<H", control_room) + bytes([0]) + struct.pack("<I", 0)
        write(target, "raw-layout-%02d" % i, params + buf)
        # The same buffer with a short result, and with an error result.
        params = bytes([0, 0, name_room]) + struct.pack("<H", control_room) + bytes([1]) + struct.pack("<I", 20)
        write(target, "raw-short-%02d" % i, params + buf)
    for i, err in enumerate([105, 11, 4096, 0xFFFFFFFF]):
        kind = 3 if err > 4095 else 2
        params = bytes([0, 0, 16]) + struct.pack("<H", 0) + bytes([kind]) + struct.pack("<I", err - 1)
        write(target, "raw-error-%02d" % i, params + b"\0" * 16)
    for i in range(6):  # arbitrary bytes, large rooms
        params = bytes([0, 3]) + struct.pack("<I", rng.randrange(1 << 32)) + struct.pack("<I", rng.randrange(1 << 32))
        params += bytes([rng.randrange(4)]) + struct.pack("<I", rng.randrange(1 << 32))
        write(target, "raw-random-%02d" % i, params + bytes(rng.randrange(256) for _ in range(rng.randrange(64))))
    # Kernel mode (first byte odd): rooms, MSG_TRUNC, flags, address, controls, datagram, garbage.
    for i in range(14):
        out = bytearray([1])
        name_room = rng.choice([0, 16, 28, 110, 8])
        control_room = rng.choice([0, 16, 24, 64, 100, 200])
        payload_room = rng.choice([0, 1, 8, 64, 300])
        out += bytes([name_room]) + struct.pack("<H", control_room) + struct.pack("<H", payload_room)
        out += bytes([rng.randrange(2)]) + struct.pack("<I", rng.choice([0, 0x80, 0x2000]))
        addr_len = rng.choice([0, 16, 28, 110, 128])
        out += bytes([addr_len]) + bytes(rng.randrange(256) for _ in range(addr_len if name_room else 0))
        controls = rng.randrange(4)
        out += bytes([controls])
        for _ in range(controls):
            data_len = rng.choice([0, 4, 12, 20, 40])
            out += struct.pack("<ii", rng.choice([0, 1, 41]), rng.choice([1, 8, 29, 50])) + bytes([data_len])
            out += bytes(rng.randrange(256) for _ in range(data_len))
        datagram = rng.choice([0, 5, 64, 400])
        out += struct.pack("<H", datagram) + bytes(rng.randrange(256) for _ in range(datagram))
        out += bytes([rng.randrange(256)])
        write(target, "kernel-%02d" % i, out)


def buffer_group_seeds(rng):
    target = "buffer_group_fuzz"
    clear(target)

    def cqe(id_, res, flags_low=1, how_res=0, bundle=False):
        # make_cqe: how, id (u8 form), low flags, result (by kind), user_data (u8), two extra bytes.
        how = how_res << 2 | (0 if flags_low & 1 else 2)  # bit 1: no F_BUFFER forced on
        out = bytes([how, id_, flags_low])
        if how_res == 0:
            out += bytes([res])
        elif how_res == 1:
            out += struct.pack("<H", res)
        elif how_res == 2:
            out += bytes([res])
        else:
            out += struct.pack("<i", res)
        return out + bytes([0x2A, 0x11, 0x22])

    def take(id_, res, **kw):
        return bytes([0]) + cqe(id_, res, **kw)

    def bundle(id_, res):
        return bytes([3]) + cqe(id_, res, how_res=1)

    def recycle_view(index):
        return bytes([4, index])

    def recycle_id(id_):
        return bytes([6, 0, id_])

    reap = bytes([7])

    def copy_cap(cap):
        return bytes([cap])

    for kind in range(3):
        for count, size in [(1, 8), (4, 16), (8, 4), (16, 48)]:
            shape = kind | (0x10 if count > 4 else 0) | (2 << 5)
            prefix = bytes([shape, count - 1, size - 1])
            ops = b""
            # Take each buffer once, recycle every other view, take again, double-recycle.
            for i in range(count):
                ops += take(i, min(size, 5) % (size + 1)) + copy_cap(3)
            for i in range(0, count, 2):
                ops += recycle_view(i)
            ops += reap
            for i in range(0, count, 2):
                ops += take(i, 1) + copy_cap(1)
            ops += recycle_view(0) + recycle_view(0) + recycle_id(0) + recycle_id(count)
            ops += reap
            write(target, "k%d-%02dx%02d-basic" % (kind, count, size), prefix + ops)
            if kind != 2:
                ops = bundle(0, size * 2 + 1) + copy_cap(9) + recycle_view(0) + recycle_view(0) + reap
                ops += bundle(1, size * count) + copy_cap(0)
                write(target, "k%d-%02dx%02d-bundle" % (kind, count, size), prefix + ops)
            if kind == 1:  # incremental: BUF_MORE pieces of one buffer
                ops = b""
                for _ in range(4):
                    ops += take(0, max(1, size // 4), flags_low=0x11) + copy_cap(2)
                ops += take(0, 1) + copy_cap(1) + recycle_view(4)
                write(target, "k1-%02dx%02d-bufmore" % (count, size), prefix + ops)
            # Errors and the -ENOBUFS calls.
            ops = take(0, 105, how_res=2, flags_low=0) + bytes([8]) + cqe(0, 105, how_res=2, flags_low=0) + bytes([1])
            ops += bytes([8]) + cqe(0, 105, how_res=2, flags_low=0) + bytes([0])
            ops += take(200, 1) + take(0, 0, flags_low=0)
            write(target, "k%d-%02dx%02d-errors" % (kind, count, size), prefix + ops)
    # Legacy group with a full SQ (8 entries): nine recycles before a reap.
    prefix = bytes([2, 15, 7])
    ops = b"".join(take(i, 8) for i in range(12)) + b"".join(recycle_view(i) for i in range(12)) + reap
    write(target, "k2-sq-full", prefix + ops)
    # Close in the middle, then every call answers closed.
    prefix = bytes([0, 3, 15])
    ops = take(0, 4) + bytes([9, 0xC1]) + take(1, 4) + recycle_view(0) + recycle_id(1)
    write(target, "k0-close", prefix + ops)
    for i in range(4):
        write(target, "random-%02d" % i, bytes(rng.randrange(256) for _ in range(rng.randrange(40, 200))))


# stress::OpKind in its order (tests/stress/engine.h), and the variants of
# stress_ops_fuzz.cc's kVariants, in theirs.
STRESS_KINDS = [
    "nop", "nop_inject", "nop_cqe32", "file_rw", "file_rwv", "file_fixed", "pipe_rw", "pipe_fixed",
    "chain_link", "chain_hardlink", "timeout_rel", "timeout_abs", "timeout_count", "timeout_remove",
    "timeout_update", "link_timeout_fire", "link_timeout_cancel", "cancel_user_data", "cancel_fd",
    "cancel_any", "poll_single", "poll_multi", "msg_ring", "recv_multishot", "send_zc",
    "timeout_multishot", "link_timeout_update", "poll_update",
]
STRESS_VARIANTS = ["plain", "defer_taskrun", "cqe32", "no_sqarray", "tiny_cq", "sqpoll", "reaper_thread",
                   "registered_thread"]
NEW_ROUND, ASYNC, SKIP_SUCCESS, DRAIN = 1, 2, 4, 8


def stress_ops_seeds(rng):
    target = "stress_ops_fuzz"
    clear(target)

    def record(kind, flags, param):
        return struct.pack("<BBQ", kind, flags, param)

    def ops_input(variant, records):
        return bytes([variant]) + b"".join(records)

    # One file per op kind: four ops of it (drain asked in the first half,
    # skip-success in the second, one async, one starting a new round), on
    # the cqe32 variant for NOP CQE32 (the only one that runs it), else plain.
    for kind, name in enumerate(STRESS_KINDS):
        variant = STRESS_VARIANTS.index("cqe32") if name == "nop_cqe32" else 0
        flags = [DRAIN, ASYNC, SKIP_SUCCESS, NEW_ROUND | SKIP_SUCCESS]
        records = [record(kind, f, rng.randrange(1 << 64)) for f in flags]
        write(target, "kind-%02d-%s" % (kind, name), ops_input(variant, records))
    # Every variant: a mixed list of 24 ops, flags as generate() would ask.
    for v, name in enumerate(STRESS_VARIANTS):
        records = []
        for i in range(24):
            flags = (NEW_ROUND if rng.randrange(10) == 0 else 0) | (ASYNC if rng.randrange(6) == 0 else 0)
            flags |= (DRAIN if rng.randrange(8) == 0 else 0) if i < 12 else (SKIP_SUCCESS if rng.randrange(4) == 0 else 0)
            records.append(record(rng.randrange(len(STRESS_KINDS)), flags, rng.randrange(1 << 64)))
        write(target, "variant-%d-%s" % (v, name), ops_input(v, records))
    # The longest lists (48 ops), any flags; and the overflow-prone ones:
    # multishot ops on the tiny CQ, and one round of 16 reads cancelled.
    for i in range(4):
        records = [record(rng.randrange(256), rng.randrange(16), rng.randrange(1 << 64)) for _ in range(48)]
        write(target, "mixed-%02d" % i, ops_input(rng.randrange(len(STRESS_VARIANTS)), records))
    multishot = [STRESS_KINDS.index(k) for k in ("poll_multi", "recv_multishot", "timeout_multishot", "poll_update", "send_zc")]
    records = [record(rng.choice(multishot), 0, rng.randrange(1 << 64)) for _ in range(32)]
    write(target, "tiny-cq-multishot", ops_input(STRESS_VARIANTS.index("tiny_cq"), records))
    cancels = [STRESS_KINDS.index(k) for k in ("cancel_user_data", "cancel_fd", "link_timeout_fire", "link_timeout_update")]
    records = [record(rng.choice(cancels), ASYNC if j % 3 == 0 else 0, rng.randrange(1 << 64)) for j in range(16)]
    records.append(record(STRESS_KINDS.index("cancel_any"), 0, 3))
    write(target, "cancels", ops_input(0, records))
    write(target, "empty-list", bytes([5]))


def main():
    rng = random.Random(14)
    recvmsg_seeds(rng)
    buffer_group_seeds(rng)
    stress_ops_seeds(random.Random(1414))  # its own stream: the other targets' seeds stay as they are


if __name__ == "__main__":
    main()
