// Fixture for the test bhcc.abi_check_catches_internals: a tool source that includes a kernel
// internal, which only_abi_includes.cmake must refuse. Never compiled.
#include <bulkhead/manifest.hpp>
#include <partition/partition.hpp>
