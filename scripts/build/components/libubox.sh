# shellcheck shell=bash disable=SC2034  # sourced by scripts/build/lab-build, which reads these
# libubox: OpenWrt's utility library (uci and opkg link it). cmake, ~10 s.
VERSION=1aa36ee
SOURCE=libubox-1aa36ee.tar.gz
DEPS=()
PATCHES=()

configure_args() {
  cmake_common_args
  printf '%s\n' -DBUILD_LUA=OFF -DBUILD_EXAMPLES=OFF
}

build_steps() { cmake_build; }
