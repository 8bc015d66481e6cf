// A partition's forwarded MMIO window (devices/mmio_forward.hpp): what ForwardMmio configured.
// Written once by the boot program; read by the exit path and the server's calls.
#pragma once

#include <bulkhead/forwarded_mmio.hpp>
#include <bulkhead/types.hpp>

namespace bh {

class Partition;
struct Notification;

struct MmioForward {
    u64 base = 0;
    u64 size = 0;                              // 0: the partition forwards nothing
    Partition* server = nullptr;
    forwarded::RequestPage* page = nullptr;    // the kernel's view of the request frame
    u64 page_pa = 0;                           // its physical address (cache maintenance)
    Notification* doorbell = nullptr;          // the server waits on it
    u64 badge = 0;                             // what each request ORs into it
    u32 spi = 0;                               // the client's virtual SPI the server may raise; 0: none
    Partition* next_of_server = nullptr;       // the next client `server` serves (its list)

    bool configured() const { return size != 0; }
};

}  // namespace bh
