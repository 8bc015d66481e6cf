// cntvct: prints the virtual counter CNTVCT_EL0 in decimal and exits. A static Linux program
// without a C library (a few instructions and two system calls), so that /init can stamp the
// moment it runs in counter ticks: under `qemu -icount shift=0` the 62.5 MHz counter advances
// once per 16 instructions, which is how bench/linux-native measures a boot to /init.
// Linux lets EL0 read CNTVCT_EL0 (CNTKCTL_EL1.EL0VCTEN, for the vDSO).

namespace {

constexpr long kSysWrite = 64;  // arm64 generic system call numbers
constexpr long kSysExit = 93;

long syscall3(long number, long a0, long a1, long a2) {
    register long x8 asm("x8") = number;
    register long x0 asm("x0") = a0;
    register long x1 asm("x1") = a1;
    register long x2 asm("x2") = a2;
    asm volatile("svc #0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2) : "memory");
    return x0;
}

}  // namespace

extern "C" [[noreturn]] void _start() {
    unsigned long ticks;
    asm volatile("isb\n\tmrs %0, cntvct_el0" : "=r"(ticks));
    char text[24];
    unsigned i = sizeof text;
    text[--i] = '\n';
    do {
        text[--i] = static_cast<char>('0' + ticks % 10);
        ticks /= 10;
    } while (ticks != 0);
    syscall3(kSysWrite, 1, reinterpret_cast<long>(text + i), static_cast<long>(sizeof text - i));
    syscall3(kSysExit, 0, 0, 0);
    __builtin_unreachable();
}
