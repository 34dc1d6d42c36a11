# shellcheck shell=bash disable=SC2034  # sourced by scripts/build/lab-build, which reads these
# apk-tools 3: OpenWrt 25.12's package manager (/usr/bin/apk, /usr/lib/libapk.so.*). meson, ~10 s.
VERSION=3.0.6
SOURCE=apk-tools-3.0.6.tar.gz
DEPS=()
PATCHES=()

configure_args() {
  printf '%s\n' --prefix=/usr --libdir=/usr/lib --buildtype=plain -Ddefault_library=shared \
    -Ddocs=disabled -Dhelp=disabled -Dlua=disabled -Dpython=disabled -Dzstd=disabled \
    -Dtests=disabled -Durl_backend=wget -Dcrypto_backend=openssl
}

build_steps() {
  local args; mapfile -t args < <(configure_args)
  step configure env CFLAGS="-Os -pipe" LDFLAGS="$RPATH_LDFLAGS" \
    meson setup "$WORK/build" "$SRC" "${args[@]}"
  step build ninja -C "$WORK/build" -j "$JOBS"
  step install env DESTDIR="$DESTDIR" meson install -C "$WORK/build" --no-rebuild
}
