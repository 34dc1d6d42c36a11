# shellcheck shell=bash disable=SC2034  # sourced by scripts/build/lab-build, which reads these
# opkg-lede: OpenWrt's package manager up to 24.10 (/bin/opkg). cmake; libubox linked in
# statically as OpenWrt does, so opkg runs in a router that has no libubox yet.
VERSION=38eccbb
SOURCE=opkg-lede-38eccbb.tar.gz
DEPS=(libubox)
PATCHES=()

configure_args() {
  cmake_common_args
  printf '%s\n' -DBUILD_TESTS=OFF -DSTATIC_UBOX=ON -DHOST_CPU=x86_64 -DVERSION=38eccbb \
    -DPATH_SPEC=/usr/sbin:/usr/bin:/sbin:/bin
}

build_steps() {
  local ubox; ubox=$(dep_root libubox)
  cmake_build -DCMAKE_PREFIX_PATH="$ubox/usr" -DCMAKE_C_FLAGS="$CMAKE_CFLAGS -I$ubox/usr/include"
  # OpenWrt's package installs opkg-cl as /bin/opkg
  step "install /bin/opkg" install -D -m 0755 "$DESTDIR/usr/bin/opkg-cl" "$DESTDIR/bin/opkg"
  step "install /bin/opkg" rm -r "$DESTDIR/usr/bin"
}
