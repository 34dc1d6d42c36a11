# shellcheck shell=bash disable=SC2034  # sourced by scripts/build/lab-build, which reads these
# FRR 10.4.1 (OpenWrt 25.12's) with OpenWrt's configure arguments (frr-openwrt/Makefile) and the
# daemons the lab packages: zebra, bgpd, staticd, mgmtd (frr), vtysh, watchfrr; every other
# daemon off as when its package is not selected. Built against libyang's tree. ~3 min.
VERSION=10.4.1
SOURCE=frr-10.4.1.tar.gz
DEPS=(libyang)
PATCHES=()

configure_args() {
  # OpenWrt's default CONFIGURE_ARGS, then the package's (later ones win)
  printf '%s\n' --prefix=/usr --exec-prefix=/usr --bindir=/usr/bin --sbindir=/usr/sbin \
    --libexecdir=/usr/lib --sysconfdir=/etc --datadir=/usr/share --localstatedir=/var \
    --mandir=/usr/man --infodir=/usr/info --disable-nls \
    --enable-vtysh --enable-zebra --enable-shared --disable-static \
    --enable-user=network --enable-group=network --disable-ospfclient --disable-doc \
    --disable-backtrace --localstatedir=/var/run/frr --sysconfdir=/etc/frr/ \
    --enable-bgpd --enable-staticd --enable-mgmtd --enable-watchfrr \
    --disable-babeld --disable-bfdd --disable-eigrpd --disable-fabricd --disable-isisd \
    --disable-ldpd --disable-nhrpd --disable-ospfd --disable-ospf6d --disable-pathd \
    --disable-pbrd --disable-pimd --disable-pim6d --disable-ripd --disable-ripngd \
    --disable-vrrpd \
    --disable-ospfapi --disable-bgp-bmp --disable-python-runtime --disable-protobuf
  # (FRR records PKG_CONFIG_PATH, the libyang tree's pkgconfig/, in `show version`.)
  # not OpenWrt's: bgp-bmp is a module (bgpd_bmp.so) no OpenWrt package ships; ospfapi belongs
  # to ospfd; python-runtime only installs frr-reload.py (frr-pythontools, not used);
  # protobuf only builds zebra's libmlag_pb.so (MLAG; OpenWrt's frr-zebra ships it) and would
  # need protobuf-c's compiler (without protoc-c, FRR's configure still enables it and fails)
}

build_steps() {
  local args yang cflags
  mapfile -t args < <(configure_args)
  yang=$(dep_root libyang)
  # -O1, not OpenWrt's -Os: FRR is the build's critical path and -O1 compiles a third faster
  # (sizes within ~10 %, no difference in behaviour)
  cflags="-O1 -pipe"
  cd "$SRC" || exit 1
  step autoreconf autoreconf -is -Wall,no-override
  step configure env PKG_CONFIG_PATH="${yang%/root}/pkgconfig" CFLAGS="$cflags" \
    CPPFLAGS="-I$yang/usr/include" LDFLAGS="-L$yang/usr/lib $RPATH_LDFLAGS" \
    ./configure "${args[@]}"
  step build env LD_LIBRARY_PATH="$yang/usr/lib" make -j"$JOBS"
  step install env LD_LIBRARY_PATH="$yang/usr/lib" make install DESTDIR="$DESTDIR"
}
