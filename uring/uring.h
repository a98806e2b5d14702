// The whole public surface of uring in one include.
#pragma once

#include "syscalls/abi.h"
#include "uring/buffer_group.h"    // BufferGroup: provided buffers and buffer rings
#include "uring/prep.h"            // every opcode builder (and the family headers)
#include "uring/probe.h"           // Probe: what this kernel supports
#include "uring/recvmsg_out.h"     // parsing multishot RECVMSG buffers
#include "uring/register.h"        // eventfd, personality, restrictions, io-wq, ...
#include "uring/registered_files.h"  // FileTable, BufferTable: fixed files and buffers
#include "uring/result.h"
#include "uring/ring.h"
#include "uring/sendfile.h"        // FileSender, send_file: a file range to a socket by SPLICE
#include "uring/sqe.h"
