// Running what may hang or trap in a child process, so that it fails a test instead of hanging
// or aborting the whole run: the child is a copy of the test process (simulated RAM, the kernel,
// its locks) and reports through its exit status.
#pragma once

#include <catch2/catch_test_macros.hpp>

#include <csignal>
#include <functional>
#include <sys/wait.h>
#include <unistd.h>

namespace bh::test {

struct ChildResult {
    bool finished = false;  // false: it was still running after the timeout (and was killed)
    int exit_code = -1;     // when it exited
    int signal = 0;         // when a signal ended it
};

// Runs `body` in a child process and waits up to `seconds` for it; the child exits with what
// `body` returns.
inline ChildResult in_child(unsigned seconds, const std::function<int()>& body) {
    const pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) _exit(body());
    for (unsigned waited_ms = 0; waited_ms < seconds * 1000; waited_ms += 10) {
        int status = 0;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            ChildResult r;
            r.finished = true;
            if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
            if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
            return r;
        }
        usleep(10'000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    return ChildResult{};
}

}  // namespace bh::test
