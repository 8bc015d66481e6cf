#include <bhcc/device_tree_source.hpp>

#include <bhcc/elf_image.hpp>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

extern char** environ;

namespace bhcc {
namespace {

constexpr bh::u8 kFdtMagic[4] = {0xd0, 0x0d, 0xfe, 0xed};  // big endian 0xd00dfeed

[[nodiscard]] bool is_blob(const std::vector<bh::u8>& bytes) {
    return bytes.size() >= 4 && std::memcmp(bytes.data(), kFdtMagic, 4) == 0;
}

// A file that unlinks itself: dtc's output and diagnostics go to these, not to pipes, so
// neither stream can fill up and block the child while we wait for it.
class ScratchFile {
public:
    ScratchFile() {
        const char* dir = std::getenv("TMPDIR");
        path_ = std::string(dir && *dir ? dir : "/tmp") + "/bhcc-XXXXXX";
        fd_ = mkstemp(path_.data());
    }
    ~ScratchFile() {
        if (fd_ >= 0) {
            close(fd_);
            unlink(path_.c_str());
        }
    }
    ScratchFile(const ScratchFile&) = delete;
    ScratchFile& operator=(const ScratchFile&) = delete;
    [[nodiscard]] int fd() const { return fd_; }
    [[nodiscard]] const std::string& path() const { return path_; }

private:
    std::string path_;
    int fd_ = -1;
};

[[nodiscard]] DeviceTreeBlob io_error(std::string message) {
    return {LoadOutcome::IoError, {}, std::move(message)};
}

[[nodiscard]] DeviceTreeBlob run_dtc(const std::filesystem::path& source) {
    ScratchFile output;
    ScratchFile messages;
    if (output.fd() < 0 || messages.fd() < 0) return io_error("cannot create a temporary file");

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, output.fd(), STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, messages.fd(), STDERR_FILENO);
    // -q: dtc's generic-binding warnings (e.g. default #address-cells) do not apply to this
    // binding, whose own rules bhcc checks; syntax errors are still reported.
    std::string source_text = source.string();
    char* argv[] = {const_cast<char*>("dtc"), const_cast<char*>("-q"), const_cast<char*>("-I"),
                    const_cast<char*>("dts"), const_cast<char*>("-O"), const_cast<char*>("dtb"),
                    source_text.data(), nullptr};
    pid_t child = 0;
    const int spawn_error = posix_spawnp(&child, "dtc", &actions, nullptr, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    if (spawn_error != 0) {
        return io_error(std::string("cannot run dtc: ") + std::strerror(spawn_error));
    }
    int wait_status = 0;
    while (waitpid(child, &wait_status, 0) < 0) {
        if (errno != EINTR) return io_error("cannot wait for dtc");
    }

    auto blob = read_file_bytes(output.path());
    if (WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0 && blob && is_blob(*blob)) {
        return {LoadOutcome::Ok, std::move(*blob), {}};
    }
    auto text = read_file_bytes(messages.path()).value_or(std::vector<bh::u8>{});
    std::string dtc_says(text.begin(), text.end());
    while (!dtc_says.empty() && dtc_says.back() == '\n') dtc_says.pop_back();
    // dtc's own lines already carry file:line.column; keep them whole for the integrator.
    return {LoadOutcome::SyntaxError, {}, source.string() + ": dtc rejected the source:\n" + dtc_says};
}

}  // namespace

DeviceTreeBlob load_device_tree(const std::filesystem::path& path) {
    auto bytes = read_file_bytes(path);
    if (!bytes) return io_error(path.string() + ": cannot read the system description");
    if (is_blob(*bytes)) return {LoadOutcome::Ok, std::move(*bytes), {}};
    return run_dtc(path);
}

}  // namespace bhcc
