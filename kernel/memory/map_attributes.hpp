// What a stage-2 mapping allows: read, write, execute, and whether it is device memory. The
// class is to mappings what Rights is to capabilities: the manifest and the FrameMap hypercall
// carry the ABI bits (manifest::attr), decode() turns them into a MapAttributes or refuses them,
// and nothing past the decode layer handles raw bits.
#pragma once

#include <bulkhead/manifest.hpp>
#include <bulkhead/status.hpp>
#include <caps/rights.hpp>

namespace bh {

class MapAttributes {
public:
    static constexpr u64 kRequestBits = manifest::attr::kRead | manifest::attr::kWrite | manifest::attr::kExecute;

    // A mapping request from a manifest op or a guest: only R, W and X, at least one of R and W.
    // The device bit is the kernel's to set (DeviceMmio), never the requester's.
    static constexpr Result<MapAttributes> decode(u64 abi_bits) {
        if (abi_bits == 0 || (abi_bits & ~kRequestBits) != 0) return Result<MapAttributes>(Status::InvalidArgument, "invalid access attributes");
        if ((abi_bits & (manifest::attr::kRead | manifest::attr::kWrite)) == 0)
            return Result<MapAttributes>(Status::InvalidArgument, "execute-only mapping");
        return MapAttributes(abi_bits);
    }
    // Any combination a stage-2 leaf can hold (what a table walk decodes), device included.
    static constexpr MapAttributes from_bits(u64 abi_bits) { return MapAttributes(abi_bits & manifest::attr::kAll); }

    constexpr MapAttributes() = default;
    constexpr u64 bits() const { return bits_; }
    constexpr bool readable() const { return (bits_ & manifest::attr::kRead) != 0; }
    constexpr bool writable() const { return (bits_ & manifest::attr::kWrite) != 0; }
    constexpr bool executable() const { return (bits_ & manifest::attr::kExecute) != 0; }
    constexpr bool device() const { return (bits_ & manifest::attr::kDevice) != 0; }
    constexpr MapAttributes as_device() const { return MapAttributes(bits_ | manifest::attr::kDevice); }
    // The rights a capability needs to make this mapping.
    constexpr bool covered_by(Rights r) const {
        return (!readable() || r.has(Rights::read())) && (!writable() || r.has(Rights::write())) &&
               (!executable() || r.has(Rights::execute()));
    }
    // What a stage-2 leaf may encode: R or W, never device and executable.
    constexpr bool encodable() const { return (readable() || writable()) && !(device() && executable()); }
    constexpr bool operator==(const MapAttributes&) const = default;

private:
    constexpr explicit MapAttributes(u64 bits) : bits_(bits) {}
    u64 bits_ = 0;
};

static_assert(MapAttributes::decode(manifest::attr::kRead).ok() && !MapAttributes::decode(manifest::attr::kExecute).ok() &&
              !MapAttributes::decode(manifest::attr::kRead | manifest::attr::kDevice).ok() && !MapAttributes::decode(0).ok());
static_assert(MapAttributes::decode(manifest::attr::kRead | manifest::attr::kWrite).value().covered_by(Rights::read() | Rights::write()) &&
              !MapAttributes::decode(manifest::attr::kWrite).value().covered_by(Rights::read()));

}  // namespace bh
