# Generic kernel sources: built into the EL2 image and, unchanged, into the host library that
# unit tests, fuzzers and proofs link against.
set(BH_GENERIC_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/lib/crc32.cpp
  ${CMAKE_CURRENT_LIST_DIR}/lib/format.cpp
  ${CMAKE_CURRENT_LIST_DIR}/object_memory.cpp
  ${CMAKE_CURRENT_LIST_DIR}/stage2_table.cpp
  ${CMAKE_CURRENT_LIST_DIR}/manifest_reader.cpp
  ${CMAKE_CURRENT_LIST_DIR}/esr.cpp
  ${CMAKE_CURRENT_LIST_DIR}/partition.cpp
  ${CMAKE_CURRENT_LIST_DIR}/system.cpp
  ${CMAKE_CURRENT_LIST_DIR}/boot_program.cpp
  ${CMAKE_CURRENT_LIST_DIR}/guest_exit.cpp
  ${CMAKE_CURRENT_LIST_DIR}/fault_injection.cpp
  ${CMAKE_CURRENT_LIST_DIR}/hypercall.cpp
  ${CMAKE_CURRENT_LIST_DIR}/cap_calls.cpp
  ${CMAKE_CURRENT_LIST_DIR}/notification.cpp
  ${CMAKE_CURRENT_LIST_DIR}/interrupts.cpp
  ${CMAKE_CURRENT_LIST_DIR}/psci_emulation.cpp
  ${CMAKE_CURRENT_LIST_DIR}/invariants.cpp
  ${CMAKE_CURRENT_LIST_DIR}/caps/cdt.cpp
  ${CMAKE_CURRENT_LIST_DIR}/caps/cnode.cpp
  ${CMAKE_CURRENT_LIST_DIR}/caps/untyped.cpp
  ${CMAKE_CURRENT_LIST_DIR}/caps/cspace.cpp
)
set(BH_HOST_ARCH_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/arch/host/arch_host.cpp
)
