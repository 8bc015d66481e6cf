#include <bhcc/description_parser.hpp>

#include <bhcc/fdt_structure.hpp>
#include <bhcc/platform_devices.hpp>

extern "C" {
#include <libfdt.h>
}

#include <cstring>
#include <string_view>
#include <utility>

namespace bhcc {
namespace {

using bh::manifest::FaultPolicy;
using bh::manifest::RestartPolicy;
namespace attr = bh::manifest::attr;

constexpr std::string_view kSystemCompatible = "bulkhead,system-v1";
constexpr std::string_view kPartitionCompatible = "bulkhead,partition";
constexpr std::string_view kMemoryCompatible = "bulkhead,memory";
constexpr std::string_view kChannelCompatible = "bulkhead,channel";
constexpr std::string_view kNotificationCompatible = "bulkhead,notification";
constexpr std::string_view kPciFunctionCompatible = "bulkhead,pci-function";
constexpr std::string_view kForwardCompatible = "bulkhead,mmio-forward";

// libfdt's view of one node, with the property readers this binding needs.
class Node {
public:
    Node(const void* blob, int offset, std::string path)
        : blob_(blob), offset_(offset), path_(std::move(path)) {}

    [[nodiscard]] const std::string& path() const { return path_; }
    [[nodiscard]] std::string name() const { return fdt_get_name(blob_, offset_, nullptr); }
    [[nodiscard]] bool has(const char* property) const {
        return fdt_getprop(blob_, offset_, property, nullptr) != nullptr;
    }
    [[nodiscard]] bool compatible_with(std::string_view value) const {
        return fdt_node_check_compatible(blob_, offset_, std::string(value).c_str()) == 0;
    }

    // The raw bytes of a property; nullopt when absent.
    [[nodiscard]] std::optional<std::string_view> raw(const char* property) const {
        int length = 0;
        const void* data = fdt_getprop(blob_, offset_, property, &length);
        if (data == nullptr || length < 0) return std::nullopt;
        return std::string_view(static_cast<const char*>(data), static_cast<std::size_t>(length));
    }

    // A property written as a list of strings ("a", "b"); nullopt when absent or not strings.
    [[nodiscard]] std::optional<std::vector<std::string>> strings(const char* property) const {
        auto data = raw(property);
        if (!data) return std::nullopt;
        std::vector<std::string> list;
        if (data->empty() || data->back() != '\0') return std::nullopt;
        std::string_view rest = *data;
        while (!rest.empty()) {
            const std::size_t end = rest.find('\0');
            list.emplace_back(rest.substr(0, end));
            rest.remove_prefix(end + 1);
        }
        return list;
    }

    // A property of big-endian 32-bit cells; nullopt when absent or not a whole number of cells.
    [[nodiscard]] std::optional<std::vector<bh::u32>> cells(const char* property) const {
        auto data = raw(property);
        if (!data || data->size() % 4 != 0) return std::nullopt;
        std::vector<bh::u32> values;
        for (std::size_t i = 0; i < data->size(); i += 4) {
            bh::u32 be = 0;
            std::memcpy(&be, data->data() + i, 4);
            values.push_back(fdt32_to_cpu(be));
        }
        return values;
    }

    template <typename Visit>
    void for_each_child(Visit&& visit) const {
        int child = 0;
        fdt_for_each_subnode(child, blob_, offset_) {
            const std::string child_name = fdt_get_name(blob_, child, nullptr);
            visit(Node(blob_, child, (path_ == "/" ? "" : path_) + "/" + child_name));
        }
    }

private:
    const void* blob_;
    int offset_;
    std::string path_;
};

[[nodiscard]] bh::u64 join_cells(bh::u32 high, bh::u32 low) {
    return (static_cast<bh::u64>(high) << 32) | low;
}

// One 64-bit value written as <hi lo>. Reports and returns nullopt when missing or malformed.
[[nodiscard]] std::optional<bh::u64> required_u64(const Node& node, const char* property,
                                                  Diagnostics& diagnostics) {
    if (!node.has(property)) {
        diagnostics.error(node.path(), std::string("missing ") + property);
        return std::nullopt;
    }
    auto cells = node.cells(property);
    if (!cells || cells->size() != 2) {
        diagnostics.error(node.path(), std::string(property) + " must be one 64-bit value <hi lo>");
        return std::nullopt;
    }
    return join_cells((*cells)[0], (*cells)[1]);
}

// "r", "rw", "rwx", ...: each letter at most once, and readable or writable (an execute-only
// or empty mapping is never what an integrator meant).
[[nodiscard]] std::optional<bh::u64> parse_access(std::string_view access) {
    bh::u64 bits = 0;
    for (char letter : access) {
        bh::u64 bit = 0;
        switch (letter) {
            case 'r': bit = attr::kRead; break;
            case 'w': bit = attr::kWrite; break;
            case 'x': bit = attr::kExecute; break;
            default: return std::nullopt;
        }
        if (bits & bit) return std::nullopt;
        bits |= bit;
    }
    if ((bits & (attr::kRead | attr::kWrite)) == 0) return std::nullopt;
    return bits;
}

[[nodiscard]] MemoryRegion parse_region(const Node& node, Diagnostics& diagnostics) {
    MemoryRegion region;
    region.node = node.path();
    const std::size_t before = diagnostics.count();
    // `unmapped;` is a boolean property: present (empty) or absent.
    if (auto flag = node.raw("unmapped")) {
        region.mapped = false;
        if (!flag->empty()) diagnostics.error(node.path(), "unmapped is a boolean property and takes no value");
    }
    std::optional<bh::u64> ipa;
    if (region.mapped) {
        ipa = required_u64(node, "ipa", diagnostics);
    } else if (node.has("ipa")) {
        diagnostics.error(node.path(), "an unmapped region must not have an ipa");
    }
    auto phys = required_u64(node, "phys", diagnostics);
    auto size = required_u64(node, "size", diagnostics);
    auto access = node.strings("access");
    if (!node.has("access")) {
        diagnostics.error(node.path(), "missing access");
    } else if (!access || access->size() != 1) {
        diagnostics.error(node.path(), "access must be one string such as \"rw\" or \"rwx\"");
    } else if (auto bits = parse_access(access->front())) {
        region.attrs = *bits;
    } else {
        diagnostics.error(node.path(), "access \"" + access->front() +
                                           "\" must use only r, w and x, each once, and include r or w");
    }
    region.ipa = ipa.value_or(0);
    region.phys = phys.value_or(0);
    region.size = size.value_or(0);
    region.well_formed = diagnostics.count() == before;
    return region;
}

void check_partition_name(const Node& node, const std::string& name, Diagnostics& diagnostics) {
    // dtc never writes a node without a name, but a .dtb given directly may hold one; the kernel
    // refuses an empty name at boot (ManifestReader, System::create_partition).
    if (name.empty()) diagnostics.error(node.path(), "partition name is empty");
    if (name.size() > bh::manifest::kNameLength - 1) {
        diagnostics.error(node.path(), "partition name is longer than " +
                                           std::to_string(bh::manifest::kNameLength - 1) + " characters");
    }
    for (char c : name) {
        const bool allowed = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
        if (!allowed) {
            diagnostics.error(node.path(), "partition name may contain only a-z, 0-9, '_' and '-'");
            break;
        }
    }
    // The console marks the kernel's own lines "[bulkhead]"; a partition of that name could forge them.
    if (name == "bulkhead") diagnostics.error(node.path(), "partition name 'bulkhead' is reserved for the kernel");
}

void parse_cpus(const Node& node, Partition& partition, Diagnostics& diagnostics) {
    if (!node.has("cpus")) {
        diagnostics.error(node.path(), "missing cpus");
        return;
    }
    auto cells = node.cells("cpus");
    if (!cells) {
        diagnostics.error(node.path(), "cpus must be a list of core numbers <n ...>");
        return;
    }
    partition.cpus_present = true;
    partition.cpus.assign(cells->begin(), cells->end());
}

// A property that names one of two policies: `<property> must be "<a>" or "<b>"` otherwise.
template <typename Policy>
void parse_policy(const Node& node, const char* property, const std::pair<const char*, Policy> (&choices)[2],
                  Policy& out, Diagnostics& diagnostics) {
    if (!node.has(property)) return;
    auto value = node.strings(property);
    for (const auto& [name, policy] : choices) {
        if (value && value->size() == 1 && value->front() == name) {
            out = policy;
            return;
        }
    }
    diagnostics.error(node.path(), std::string(property) + " must be \"" + choices[0].first + "\" or \"" +
                                       choices[1].first + "\"");
}

void parse_optional_properties(const Node& node, Partition& partition, Diagnostics& diagnostics) {
    if (node.has("boot-arg")) {
        partition.boot_arg_present = true;
        auto cells = node.cells("boot-arg");
        if (cells && cells->size() == 2) {
            partition.boot_arg = join_cells((*cells)[0], (*cells)[1]);
        } else if (cells && cells->size() == 1) {
            partition.boot_arg = (*cells)[0];
        } else {
            diagnostics.error(node.path(), "boot-arg must be one 64-bit value <hi lo>");
        }
    }
    parse_policy(node, "restart", {{"stop", RestartPolicy::Stop}, {"restart", RestartPolicy::Restart}}, partition.restart,
                 diagnostics);
    parse_policy(node, "faults", {{"stop", FaultPolicy::Stop}, {"inject", FaultPolicy::Inject}}, partition.faults,
                 diagnostics);
    if (node.has("devices")) {
        auto devices = node.strings("devices");
        if (devices) {
            partition.devices = *devices;
        } else {
            diagnostics.error(node.path(), "devices must be a list of strings");
        }
    }
    if (node.has("interrupts")) {
        auto cells = node.cells("interrupts");
        if (cells && !cells->empty()) {
            partition.interrupts.assign(cells->begin(), cells->end());
        } else {
            diagnostics.error(node.path(), "interrupts must be a list of interrupt numbers (INTIDs)");
        }
    }
    namespace flag = bh::manifest::partition_flag;
    for (auto [property, bit] : {std::pair{"virtual-gic", flag::kVirtualGic},
                                 {"virtual-uart", flag::kVirtualUart},
                                 {"console-input", flag::kConsoleInput}}) {
        auto value = node.raw(property);
        if (!value) continue;
        if (value->empty()) {
            partition.flags |= bit;
        } else {
            diagnostics.error(node.path(), std::string(property) + " is a boolean property and takes no value");
        }
    }
    if (node.has("audit")) {
        auto value = node.raw("audit");
        if (value && value->empty()) {
            partition.audit = true;
        } else {
            diagnostics.error(node.path(), "audit takes no value (write `audit;`)");
        }
    }
    if (node.has("controls")) {
        auto controls = node.strings("controls");
        if (controls) {
            partition.controls = *controls;
        } else {
            diagnostics.error(node.path(), "controls must be a list of partition names");
        }
    }
}

// What the partition runs: a bare-metal ELF (`image`) or a Linux kernel Image (`kernel`, with
// an optional `initramfs` and `bootargs`), never both.
void parse_guest(const Node& node, Partition& partition, Diagnostics& diagnostics) {
    auto file_name = [&](const char* property, std::string& into) {
        if (!node.has(property)) return;
        if (auto value = node.strings(property); value && value->size() == 1 && !value->front().empty()) {
            into = value->front();
        } else {
            diagnostics.error(node.path(), std::string(property) + " must be one file name");
        }
    };
    file_name("image", partition.image);
    file_name("kernel", partition.kernel);
    file_name("initramfs", partition.initramfs);
    const bool image = node.has("image");
    const bool kernel = node.has("kernel");
    if (image && kernel) {
        diagnostics.error(node.path(), "image and kernel are exclusive: a partition runs a bare-metal ELF or a Linux kernel");
    } else if (!image && !kernel) {
        diagnostics.error(node.path(), "missing image (a bare-metal ELF) or kernel (a Linux Image)");
    }
    if (node.has("bootargs")) {
        if (auto bootargs = node.strings("bootargs"); bootargs && bootargs->size() == 1) {
            partition.bootargs = bootargs->front();
        } else {
            diagnostics.error(node.path(), "bootargs must be one string");
        }
    }
    if (!kernel && (node.has("initramfs") || node.has("bootargs"))) {
        diagnostics.error(node.path(), "initramfs and bootargs are for a Linux partition (one with a kernel)");
    }
}

[[nodiscard]] Partition parse_partition(const Node& node, Diagnostics& diagnostics) {
    Partition partition;
    partition.name = node.name();
    partition.node = node.path();
    if (!node.compatible_with(kPartitionCompatible)) {
        diagnostics.error(node.path(), "compatible must be \"bulkhead,partition\"");
    }
    check_partition_name(node, partition.name, diagnostics);
    parse_cpus(node, partition, diagnostics);
    parse_guest(node, partition, diagnostics);
    parse_optional_properties(node, partition, diagnostics);
    node.for_each_child([&](const Node& child) {
        if (child.compatible_with(kMemoryCompatible)) {
            partition.regions.push_back(parse_region(child, diagnostics));
        } else {
            diagnostics.error(child.path(),
                              "unexpected node: children of a partition must have compatible = \"bulkhead,memory\"");
        }
    });
    return partition;
}

// An optional list of partition names (`writers`, `readers`, `signallers`, `waiters`): absent is
// empty; anything but a list of strings is reported.
[[nodiscard]] std::vector<std::string> partition_list(const Node& node, const char* property,
                                                      Diagnostics& diagnostics) {
    if (!node.has(property)) return {};
    auto names = node.strings(property);
    if (!names) {
        diagnostics.error(node.path(), std::string(property) + " must be a list of partition names");
        return {};
    }
    return *names;
}

[[nodiscard]] Channel parse_channel(const Node& node, Diagnostics& diagnostics) {
    Channel channel;
    channel.node = node.path();
    const std::size_t before = diagnostics.count();
    auto phys = required_u64(node, "phys", diagnostics);
    auto size = required_u64(node, "size", diagnostics);
    channel.phys = phys.value_or(0);
    channel.size = size.value_or(0);
    channel.well_formed = diagnostics.count() == before;
    const std::size_t members_before = diagnostics.count();
    channel.writers = partition_list(node, "writers", diagnostics);
    channel.readers = partition_list(node, "readers", diagnostics);
    channel.members_well_formed = diagnostics.count() == members_before;
    return channel;
}

[[nodiscard]] Notification parse_notification(const Node& node, Diagnostics& diagnostics) {
    Notification notification;
    notification.node = node.path();
    const std::size_t before = diagnostics.count();
    notification.signallers = partition_list(node, "signallers", diagnostics);
    notification.waiters = partition_list(node, "waiters", diagnostics);
    notification.members_well_formed = diagnostics.count() == before;
    return notification;
}

// `/channels` and `/notifications` are optional; every child must carry its compatible.
void parse_ipc(const void* blob, SystemDescription& system, Diagnostics& diagnostics) {
    if (const int offset = fdt_subnode_offset(blob, 0, "channels"); offset >= 0) {
        Node(blob, offset, "/channels").for_each_child([&](const Node& child) {
            if (child.compatible_with(kChannelCompatible)) {
                system.channels.push_back(parse_channel(child, diagnostics));
            } else {
                diagnostics.error(child.path(),
                                  "unexpected node: children of /channels must have compatible = \"bulkhead,channel\"");
            }
        });
    }
    if (const int offset = fdt_subnode_offset(blob, 0, "notifications"); offset >= 0) {
        Node(blob, offset, "/notifications").for_each_child([&](const Node& child) {
            if (child.compatible_with(kNotificationCompatible)) {
                system.notifications.push_back(parse_notification(child, diagnostics));
            } else {
                diagnostics.error(child.path(), "unexpected node: children of /notifications must have compatible = "
                                                "\"bulkhead,notification\"");
            }
        });
    }
}

// One cell `property` no greater than `max`; `fallback` when absent and optional.
[[nodiscard]] std::optional<unsigned> small_cell(const Node& node, const char* property, unsigned max, bool required,
                                                 unsigned fallback, Diagnostics& diagnostics) {
    if (!node.has(property)) {
        if (required) diagnostics.error(node.path(), std::string("missing ") + property);
        return required ? std::nullopt : std::optional<unsigned>(fallback);
    }
    auto cells = node.cells(property);
    if (!cells || cells->size() != 1 || (*cells)[0] > max) {
        diagnostics.error(node.path(), std::string(property) + " must be one number from 0 to " + std::to_string(max));
        return std::nullopt;
    }
    return (*cells)[0];
}

// An optional property holding one string (empty when absent).
[[nodiscard]] std::string one_string(const Node& node, const char* property, Diagnostics& diagnostics) {
    if (!node.has(property)) return {};
    auto list = node.strings(property);
    if (!list || list->size() != 1 || list->front().empty()) {
        diagnostics.error(node.path(), std::string(property) + " must be one string");
        return {};
    }
    return list->front();
}

[[nodiscard]] PciFunction parse_pci_function(const Node& node, Diagnostics& diagnostics) {
    PciFunction f;
    f.node = node.path();
    const std::size_t before = diagnostics.count();
    if (!node.has("partition")) {
        diagnostics.error(node.path(), "missing partition");
    } else {
        f.partition = one_string(node, "partition", diagnostics);
    }
    auto device = small_cell(node, "device", 31, true, 0, diagnostics);
    auto function = small_cell(node, "function", 7, false, 0, diagnostics);
    auto pin = small_cell(node, "pin", 4, false, 1, diagnostics);
    f.device = device.value_or(0);
    f.function = function.value_or(0);
    f.pin = pin.value_or(1);
    if (pin && *pin == 0) diagnostics.error(node.path(), "pin must be 1 (INTA) to 4 (INTD)");
    if (!node.has("id")) {
        diagnostics.error(node.path(), "missing id");
    } else if (auto id = node.cells("id"); id && id->size() == 2 && (*id)[0] < 0xffff && (*id)[1] <= 0xffff) {
        f.vendor = (*id)[0];
        f.device_id = (*id)[1];
    } else {
        diagnostics.error(node.path(), "id must be <vendor device>, each a 16-bit number (vendor not 0xffff)");
    }
    if (node.has("bars")) {
        auto cells = node.cells("bars");
        if (!cells || cells->empty() || cells->size() % 2 != 0) {
            diagnostics.error(node.path(), "bars must be pairs <index size>");
        } else {
            for (std::size_t i = 0; i < cells->size(); i += 2) f.bars.push_back({(*cells)[i], (*cells)[i + 1]});
        }
    }
    f.qemu_device = one_string(node, "qemu-device", diagnostics);
    f.qemu_disk = one_string(node, "qemu-disk", diagnostics);
    f.well_formed = diagnostics.count() == before;
    return f;
}

// The children of the optional root node `name`, each parsed by `parse` when it carries
// `compatible`, reported otherwise.
template <class T, class Parse>
void parse_children(const void* blob, const char* name, std::string_view compatible, std::vector<T>& out,
                    Parse&& parse, Diagnostics& diagnostics) {
    const int offset = fdt_subnode_offset(blob, 0, name);
    if (offset < 0) return;
    const std::string path = std::string("/") + name;
    Node(blob, offset, path).for_each_child([&](const Node& child) {
        if (child.compatible_with(compatible)) {
            out.push_back(parse(child, diagnostics));
        } else {
            diagnostics.error(child.path(), "unexpected node: children of " + path + " must have compatible = \"" +
                                                std::string(compatible) + "\"");
        }
    });
}

void parse_pci(const void* blob, SystemDescription& system, Diagnostics& diagnostics) {
    parse_children(blob, "pci", kPciFunctionCompatible, system.pci_functions, parse_pci_function, diagnostics);
}

[[nodiscard]] MmioForward parse_forward(const Node& node, Diagnostics& diagnostics) {
    MmioForward f;
    f.node = node.path();
    const std::size_t before = diagnostics.count();
    for (const char* property : {"client", "server", "doorbell"})
        if (!node.has(property)) diagnostics.error(node.path(), std::string("missing ") + property);
    f.client = one_string(node, "client", diagnostics);
    f.server = one_string(node, "server", diagnostics);
    f.doorbell = one_string(node, "doorbell", diagnostics);
    if (auto window = node.cells("window"); window && window->size() == 4) {
        f.ipa = join_cells((*window)[0], (*window)[1]);
        f.size = join_cells((*window)[2], (*window)[3]);
    } else {
        diagnostics.error(node.path(), "window must be one range <ipa-hi ipa-lo size-hi size-lo>");
    }
    f.requests = required_u64(node, "requests", diagnostics).value_or(0);
    f.requests_ipa = required_u64(node, "requests-ipa", diagnostics).value_or(0);
    if (node.has("interrupt")) {
        auto cells = node.cells("interrupt");
        if (cells && cells->size() == 1) {
            f.interrupt = (*cells)[0];
        } else {
            diagnostics.error(node.path(), "interrupt must be one INTID");
        }
    }
    f.dma_window = one_string(node, "dma-window", diagnostics);
    if (!f.dma_window.empty()) {
        f.dma_window_ipa = required_u64(node, "dma-window-ipa", diagnostics).value_or(0);
    } else if (node.has("dma-window-ipa")) {
        diagnostics.error(node.path(), "dma-window-ipa without dma-window");
    }
    f.well_formed = diagnostics.count() == before;
    return f;
}

void parse_forwards(const void* blob, SystemDescription& system, Diagnostics& diagnostics) {
    parse_children(blob, "forwards", kForwardCompatible, system.forwards, parse_forward, diagnostics);
}

[[nodiscard]] bool is_memory_node(const Node& node) {
    auto type = node.strings("device_type");
    return (type && type->size() == 1 && type->front() == "memory") || node.name() == "memory" ||
           node.name().starts_with("memory@");
}

void parse_root(const Node& root, SystemDescription& system, Diagnostics& diagnostics) {
    for (const char* cells_property : {"#address-cells", "#size-cells"}) {
        if (!root.has(cells_property)) continue;  // this binding's default is 2, not the DT spec's
        auto cells = root.cells(cells_property);
        if (!cells || cells->size() != 1 || cells->front() != 2) {
            diagnostics.error("/", std::string(cells_property) + " must be 2");
        }
    }
    int memory_nodes = 0;
    root.for_each_child([&](const Node& child) {
        if (!is_memory_node(child)) return;
        if (++memory_nodes > 1) {
            diagnostics.error(child.path(), "only one memory node is supported");
            return;
        }
        auto reg = child.cells("reg");
        if (!reg || reg->size() != 4) {
            diagnostics.error(child.path(), "reg must be one range <base-hi base-lo size-hi size-lo>");
            return;
        }
        system.ram_node = child.path();
        system.ram_base = join_cells((*reg)[0], (*reg)[1]);
        system.ram_size = join_cells((*reg)[2], (*reg)[3]);
    });
}

}  // namespace

std::optional<SystemDescription> parse_description(std::span<const bh::u8> blob,
                                                   Diagnostics& diagnostics) {
    if (blob.size() < sizeof(fdt_header) || fdt_check_header(blob.data()) != 0 ||
        fdt_totalsize(blob.data()) > blob.size()) {
        diagnostics.error("/", "not a valid flattened device tree");
        return std::nullopt;
    }
    // Before any libfdt walk: libfdt trusts the lengths it reads and can loop on a damaged
    // structure block (fdt_structure.hpp).
    if (const FdtDamage damage = check_fdt_structure(blob); !damage.message.empty()) {
        diagnostics.error(damage.node, "not a valid flattened device tree: " + damage.message);
        return std::nullopt;
    }
    const Node root(blob.data(), 0, "/");
    if (!root.compatible_with(kSystemCompatible)) {
        diagnostics.error("/", "compatible must be \"bulkhead,system-v1\"");
        return std::nullopt;
    }
    SystemDescription system;
    parse_root(root, system, diagnostics);

    const int partitions_offset = fdt_subnode_offset(blob.data(), 0, "partitions");
    if (partitions_offset < 0) {
        diagnostics.error("/", "missing /partitions node");
        return std::nullopt;
    }
    const Node partitions(blob.data(), partitions_offset, "/partitions");
    std::vector<Node> partition_nodes;
    partitions.for_each_child([&](const Node& child) { partition_nodes.push_back(child); });
    if (partition_nodes.empty()) {
        diagnostics.error("/partitions", "no partitions defined");
        return std::nullopt;
    }
    if (partition_nodes.size() > bh::manifest::kMaxPartitions) {
        diagnostics.error("/partitions", "too many partitions (" + std::to_string(partition_nodes.size()) +
                                             ", at most " + std::to_string(bh::manifest::kMaxPartitions) + ")");
        return std::nullopt;
    }
    for (const Node& node : partition_nodes) {
        // dtc refuses two nodes of one name in source, but a .dtb given directly may hold them.
        for (const Partition& earlier : system.partitions)
            if (earlier.name == node.name())
                diagnostics.error(node.path(), "partition name already used by " + earlier.node);
        system.partitions.push_back(parse_partition(node, diagnostics));
    }
    parse_ipc(blob.data(), system, diagnostics);
    parse_pci(blob.data(), system, diagnostics);
    parse_forwards(blob.data(), system, diagnostics);
    return system;
}

}  // namespace bhcc
