# shellcheck shell=bash disable=SC2034  # sourced by scripts/build/lab-build, which reads these
# Quagga 1.2.4 as OpenWrt's routing feed built it (quagga-1.2.4-openwrt/Makefile, PKG_RELEASE 2):
# its patches, its configure arguments (package set zebra, bgpd, vtysh, watchquagga; ospfd,
# isisd, ospf6d, ripd, ripngd off as when their packages are not selected; pimd has no switch
# in that Makefile, so it is built, as on OpenWrt, though no package ships it). ~65 s.
VERSION=1.2.4
SOURCE=quagga-1.2.4.tar.gz
DEPS=()
PATCHES=(
  quagga-1.2.4-openwrt/patches/140-holdtimer-set.patch
  quagga-1.2.4-openwrt/patches/170-use-supported-pagers.patch
  quagga-1.2.4-openwrt/patches/200-gcc10.patch
)

configure_args() {
  # OpenWrt's default CONFIGURE_ARGS, then the package's (later ones win)
  printf '%s\n' --prefix=/usr --exec-prefix=/usr --bindir=/usr/bin --sbindir=/usr/sbin \
    --libexecdir=/usr/lib --sysconfdir=/etc --datadir=/usr/share --localstatedir=/var \
    --mandir=/usr/man --infodir=/usr/info --disable-nls \
    --localstatedir=/var/run/quagga --sysconfdir=/etc/quagga/ --enable-shared --disable-static \
    --enable-user=network --enable-group=network --enable-multipath=8 --disable-ospfclient \
    --disable-capabilities --disable-doc --disable-nhrpd \
    --enable-zebra --disable-ospfd --enable-bgpd --disable-isisd --disable-ospf6d \
    --disable-ripd --disable-ripngd --enable-vtysh
}

build_steps() {
  local args cflags
  mapfile -t args < <(configure_args)
  # OpenWrt: MAKE_FLAGS CFLAGS="$(TARGET_CFLAGS) -std=gnu99"; -fcommon and the -Wno-error=
  # set keep gcc >= 10 (and 14's new errors) from failing on 2018 code, as 200-gcc10 does.
  cflags="-Os -pipe -std=gnu99 $(supported_cflags "${PERMISSIVE_CFLAGS[@]}")"
  cd "$SRC" || exit 1
  step autoreconf autoreconf -i
  step configure env CFLAGS="$cflags" LDFLAGS="$RPATH_LDFLAGS" ./configure "${args[@]}"
  step build make -j"$JOBS" CFLAGS="$cflags"
  step install make install DESTDIR="$DESTDIR"
}
