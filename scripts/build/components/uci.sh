# shellcheck shell=bash disable=SC2034  # sourced by scripts/build/lab-build, which reads these
# uci: OpenWrt's config library and CLI (/sbin/uci). cmake against libubox, ~5 s.
VERSION=66127cd
SOURCE=uci-66127cd.tar.gz
DEPS=(libubox)
PATCHES=()

configure_args() {
  cmake_common_args
  printf '%s\n' -DBUILD_LUA=OFF -DBUILD_STATIC=OFF
}

build_steps() { cmake_build -DCMAKE_PREFIX_PATH="$(dep_root libubox)/usr"; }
