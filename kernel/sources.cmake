# Generic kernel sources: built into the EL2 image and, unchanged, into the host library that
# unit tests, fuzzers and proofs link against. BH_CHECKER_SOURCES are the invariant checker's
# (kernel/invariants/) and the derivation tree's debug checker: in the host library and in debug
# kernels (BH_DEBUG_INVARIANTS), never in a release image. BH_ARCH_PURE_SOURCES are the aarch64 formats and
# table code that touch no hardware: both builds compile them too (the host simulates the
# reference machine's guests and tables).
set(BH_GENERIC_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/lib/crc32.cpp
  ${CMAKE_CURRENT_LIST_DIR}/lib/format.cpp
  ${CMAKE_CURRENT_LIST_DIR}/lib/bulk_memory.cpp
  ${CMAKE_CURRENT_LIST_DIR}/memory/object_memory.cpp
  ${CMAKE_CURRENT_LIST_DIR}/memory/frame_mapping.cpp
  ${CMAKE_CURRENT_LIST_DIR}/boot/manifest_reader.cpp
  ${CMAKE_CURRENT_LIST_DIR}/boot/boot_space.cpp
  ${CMAKE_CURRENT_LIST_DIR}/boot/boot_program.cpp
  ${CMAKE_CURRENT_LIST_DIR}/partition/partition.cpp
  ${CMAKE_CURRENT_LIST_DIR}/partition/partition_table.cpp
  ${CMAKE_CURRENT_LIST_DIR}/partition/core_map.cpp
  ${CMAKE_CURRENT_LIST_DIR}/partition/lifecycle.cpp
  ${CMAKE_CURRENT_LIST_DIR}/policy/flow_graph.cpp
  ${CMAKE_CURRENT_LIST_DIR}/policy/seal.cpp
  ${CMAKE_CURRENT_LIST_DIR}/ipc/notification.cpp
  ${CMAKE_CURRENT_LIST_DIR}/irq/interrupts.cpp
  ${CMAKE_CURRENT_LIST_DIR}/audit/audit_log.cpp
  ${CMAKE_CURRENT_LIST_DIR}/audit/audit_cap.cpp
  ${CMAKE_CURRENT_LIST_DIR}/calls/decode.cpp
  ${CMAKE_CURRENT_LIST_DIR}/calls/guest_exit.cpp
  ${CMAKE_CURRENT_LIST_DIR}/calls/fault_injection.cpp
  ${CMAKE_CURRENT_LIST_DIR}/calls/cap_invoke.cpp
  ${CMAKE_CURRENT_LIST_DIR}/calls/fast_call.cpp
  ${CMAKE_CURRENT_LIST_DIR}/calls/psci.cpp
  ${CMAKE_CURRENT_LIST_DIR}/calls/console.cpp
  ${CMAKE_CURRENT_LIST_DIR}/devices/virtual_devices.cpp
  ${CMAKE_CURRENT_LIST_DIR}/devices/virtual_uart.cpp
  ${CMAKE_CURRENT_LIST_DIR}/vgic/delivery.cpp
  ${CMAKE_CURRENT_LIST_DIR}/vgic/distributor.cpp
  ${CMAKE_CURRENT_LIST_DIR}/vgic/redistributor.cpp
  ${CMAKE_CURRENT_LIST_DIR}/vgic/sgi.cpp
  ${CMAKE_CURRENT_LIST_DIR}/kernel.cpp
  ${CMAKE_CURRENT_LIST_DIR}/entry.cpp
  ${CMAKE_CURRENT_LIST_DIR}/caps/cdt.cpp
  ${CMAKE_CURRENT_LIST_DIR}/caps/cnode.cpp
  ${CMAKE_CURRENT_LIST_DIR}/caps/untyped.cpp
  ${CMAKE_CURRENT_LIST_DIR}/caps/cspace.cpp
)
set(BH_CHECKER_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/invariants/report.cpp
  ${CMAKE_CURRENT_LIST_DIR}/invariants/checker.cpp
  ${CMAKE_CURRENT_LIST_DIR}/invariants/check_identity.cpp
  ${CMAKE_CURRENT_LIST_DIR}/invariants/check_memory.cpp
  ${CMAKE_CURRENT_LIST_DIR}/invariants/check_caps.cpp
  ${CMAKE_CURRENT_LIST_DIR}/invariants/check_mapping_caps.cpp
  ${CMAKE_CURRENT_LIST_DIR}/invariants/check_interrupts.cpp
  ${CMAKE_CURRENT_LIST_DIR}/invariants/check_flows.cpp
  ${CMAKE_CURRENT_LIST_DIR}/invariants/debug_kernel.cpp
  ${CMAKE_CURRENT_LIST_DIR}/caps/cdt_check.cpp
)
set(BH_ARCH_PURE_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/arch/aarch64/stage2_table.cpp
  ${CMAKE_CURRENT_LIST_DIR}/arch/aarch64/esr.cpp
  ${CMAKE_CURRENT_LIST_DIR}/arch/aarch64/guest_exit_decode.cpp
  ${CMAKE_CURRENT_LIST_DIR}/arch/aarch64/os_registers.cpp
  ${CMAKE_CURRENT_LIST_DIR}/arch/aarch64/trapped_access.cpp
  ${CMAKE_CURRENT_LIST_DIR}/arch/aarch64/exception_injection.cpp
)
set(BH_HOST_ARCH_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/arch/host/arch_host.cpp
  ${CMAKE_CURRENT_LIST_DIR}/arch/host/vgic_hw_host.cpp
)
# Generic code that only host tools call (never built into the EL2 image).
set(BH_HOST_ONLY_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/boot/manifest_validation.cpp
)
