// Host tools' entry to the kernel's manifest validation (bulkhead/manifest_validation.hpp).
// Host library only: nothing at EL2 calls it.
#include <bulkhead/manifest_validation.hpp>

#include <boot/manifest_reader.hpp>

namespace bh {

ManifestError validate_manifest(const void* data, usize size) {
    ManifestReader reader;
    (void)reader.open(data, size);
    return reader.error();
}

}  // namespace bh
