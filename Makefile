# Bulkhead: `make run` boots the demo under QEMU, `make test` runs every registered test.
# Debian bookworm, as root: the first run installs what is missing (tools/bootstrap).
BUILD ?= build

.PHONY: all bootstrap configure build run test clean

all: build

bootstrap:
	tools/bootstrap

# Configure once; later builds let CMake re-run itself when a CMakeLists.txt changes.
configure: bootstrap
	@if [ ! -f $(BUILD)/build.ninja ]; then \
	  cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo; \
	fi

build: configure
	cmake --build $(BUILD)

# Interactive when stdin is a terminal (Ctrl-A X quits QEMU); otherwise QEMU's stdin is
# /dev/null. The demo powers the machine off by itself.
run: build
	@mkdir -p $(BUILD)/logs
	@if [ -t 0 ]; then interactive=--interactive; else interactive=; fi; \
	tools/qemu-run $$interactive --timeout 120 --log $(BUILD)/logs/run.log $(BUILD)/images/demo.img; \
	status=$$?; echo "log: $(BUILD)/logs/run.log"; exit $$status

test: build
	ctest --test-dir $(BUILD) --output-on-failure -j2

clean:
	rm -rf $(BUILD)
