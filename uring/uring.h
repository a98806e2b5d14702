// The whole public surface of uring in one include.
#pragma once

#include "syscalls/abi.h"
#include "uring/prep.h"
#include "uring/probe.h"
#include "uring/result.h"
#include "uring/ring.h"
#include "uring/sqe.h"
