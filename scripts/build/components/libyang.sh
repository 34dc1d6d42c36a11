# shellcheck shell=bash disable=SC2034  # sourced by scripts/build/lab-build, which reads these
# libyang 3.13.6, FRR 10's YANG library, as OpenWrt 25.12 builds it (ENABLE_LYD_PRIV=ON, which
# FRR requires). cmake, ~40 s.
VERSION=3.13.6
SOURCE=libyang-3.13.6.tar.gz
DEPS=()
PATCHES=()

configure_args() {
  cmake_common_args
  printf '%s\n' -DCMAKE_BUILD_TYPE=Release -DENABLE_LYD_PRIV=ON -DENABLE_TESTS=OFF \
    -DENABLE_VALGRIND_TESTS=OFF -DENABLE_TOOLS=OFF -DENABLE_COMMON_TARGETS=OFF
}

build_steps() {
  cmake_build
  # for building FRR against this tree: the .pc with its prefix pointing into the tree
  mkdir -p "$WORK/out/pkgconfig"
  sed "s|^prefix=.*|prefix=$FINAL/root/usr|" "$DESTDIR/usr/lib/pkgconfig/libyang.pc" \
    >"$WORK/out/pkgconfig/libyang.pc"
}
