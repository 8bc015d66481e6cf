// The translation tables the arch's walkers use for a partition (stage 2 for its CPUs and,
// with the same VMID, for its DMA streams). Generic code maps, unmaps and translates through
// Stage2Table; the descriptor format stays in kernel/arch/aarch64/stage2_format.hpp.
#pragma once

#include "arch/aarch64/stage2_table.hpp"
