// A stage-1 identity map for red-team guests: the whole 40-bit address space as 1 GiB blocks of
// Normal write-back memory, so that accesses the MMU-off Device type forbids (unaligned ones,
// DC ZVA) reach stage 2 as Normal memory would, and so that the kernel's handling of faults
// taken with the guest's MMU on is exercised. Nothing is mapped at stage 1 that stage 2 does
// not decide about: the identity map only changes the memory type the guest asks for.
#pragma once

#include <bulkhead/types.hpp>

namespace xtf {

// Builds the tables (in the guest's .bss) and turns the MMU and caches on for this vCPU, for
// the rest of its run (turning caches off again would need every dirty line cleaned first).
void mmu_identity_on();

}  // namespace xtf
