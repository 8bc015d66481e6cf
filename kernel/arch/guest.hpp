// The arch's guest-facing types that generic code holds: a vCPU's saved registers and one
// exit's description. The reference machine is AArch64; the host build, which simulates it for
// tests and fuzzers, uses the same definitions.
#pragma once

#include "arch/aarch64/exception_injection.hpp"
#include "arch/aarch64/guest_exit_decode.hpp"
#include "arch/aarch64/guest_regs.hpp"
