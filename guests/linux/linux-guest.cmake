# The Linux guest's files, in ${BH_LINUX_DIR} (host build): `Image`, Debian's arm64 kernel from
# the bootstrap's cache, and `initramfs.cpio.gz`, written by tools/mkinitramfs from the cached
# busybox-static, guests/linux/init and the cntvct program of the cross build. Descriptions name
# them as `kernel = "Image"` and `initramfs = "initramfs.cpio.gz"`; bulkhead_image(... LINUX)
# adds this directory to bhcc's image directories.
#
# The cache is ${BULKHEAD_CACHE} (default: .cache in the source tree), filled by tools/bootstrap;
# nothing is fetched here. Without it BH_LINUX_GUEST is OFF and the Linux images and tests are
# left out, with a warning.

set(BH_LINUX_CACHE "$ENV{BULKHEAD_CACHE}")
if(BH_LINUX_CACHE STREQUAL "")
  set(BH_LINUX_CACHE ${CMAKE_SOURCE_DIR}/.cache)
endif()
set(BH_LINUX_ROOT ${BH_LINUX_CACHE}/linux-guest/root CACHE PATH
    "Unpacked arm64 Linux guest packages (tools/bootstrap)")
file(GLOB BH_LINUX_IMAGES ${BH_LINUX_ROOT}/boot/vmlinuz-*)
set(BH_LINUX_BUSYBOX ${BH_LINUX_ROOT}/bin/busybox)

set(BH_LINUX_GUEST OFF)
list(LENGTH BH_LINUX_IMAGES BH_LINUX_IMAGE_COUNT)
if(BH_LINUX_IMAGE_COUNT EQUAL 1 AND EXISTS ${BH_LINUX_BUSYBOX})
  set(BH_LINUX_GUEST ON)
  list(GET BH_LINUX_IMAGES 0 BH_LINUX_IMAGE)
else()
  message(WARNING "No cached arm64 Linux guest in ${BH_LINUX_ROOT} (one boot/vmlinuz-* and "
                  "bin/busybox; run tools/bootstrap): Linux images and the `linux` tests are left out")
  return()
endif()

set(BH_LINUX_DIR ${CMAKE_BINARY_DIR}/linux)
file(MAKE_DIRECTORY ${BH_LINUX_DIR})
# Debian's arm64 vmlinuz is the uncompressed Image (booting.rst header); a link, not a copy.
file(CREATE_LINK ${BH_LINUX_IMAGE} ${BH_LINUX_DIR}/Image SYMBOLIC)

# The busybox applets /init and an interactive user need, as links to /bin/busybox (the
# interactive shell installs the rest with `busybox --install`).
set(BH_LINUX_APPLETS
  sh mount cat grep cut tr uname ls printf basename sleep usleep taskset mkfifo devmem insmod
  poweroff reboot setsid cttyhack dd sync md5sum wc)
set(BH_LINUX_APPLET_ARGS)
foreach(applet ${BH_LINUX_APPLETS})
  list(APPEND BH_LINUX_APPLET_ARGS --applet ${applet})
endforeach()

# Kernel modules packed into /lib/modules and loaded by /init in this order: paths relative to
# the cached lib/modules/<version>/kernel/, e.g. "drivers/virtio/virtio_mmio.ko;drivers/block/virtio_blk.ko"
# (issue 12's virtio block device): the virtio-mmio transport and virtio-blk, which the `blk` mode
# of /init uses (config/tests/linux-blk.dts); in a guest without a virtio-mmio device they load
# and find nothing.
set(BH_LINUX_MODULES drivers/virtio/virtio_mmio.ko drivers/block/virtio_blk.ko)
file(GLOB BH_LINUX_MODULE_DIRS ${BH_LINUX_ROOT}/lib/modules/*/kernel)
set(BH_LINUX_MODULE_ARGS)
foreach(module ${BH_LINUX_MODULES})
  list(APPEND BH_LINUX_MODULE_ARGS --module ${BH_LINUX_MODULE_DIRS}/${module})
endforeach()

# Like the images, always rebuilt: cntvct comes from the cross build, whose outputs CMake does
# not track; mkinitramfs is reproducible, so an unchanged input gives the same bytes.
set(BH_LINUX_INITRAMFS ${BH_LINUX_DIR}/initramfs.cpio.gz)
add_custom_target(linux_initramfs ALL
  COMMAND ${CMAKE_SOURCE_DIR}/tools/mkinitramfs -o ${BH_LINUX_INITRAMFS}
          --busybox ${BH_LINUX_BUSYBOX} --init ${CMAKE_SOURCE_DIR}/guests/linux/init
          --file ${BH_GUEST_DIR}/linux/cntvct:/bin/cntvct ${BH_LINUX_APPLET_ARGS} ${BH_LINUX_MODULE_ARGS}
  BYPRODUCTS ${BH_LINUX_INITRAMFS}
  COMMENT "mkinitramfs: ${BH_LINUX_INITRAMFS}"
  VERBATIM)
add_dependencies(linux_initramfs aarch64)
