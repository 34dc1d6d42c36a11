# shellcheck shell=bash disable=SC2034  # sourced by scripts/build/lab-build, which reads these
# Debian's busybox-static, unpacked (not installed): its crond, crontab, httpd, wget, logger,
# which Debian's plain busybox lacks. Not installed because it conflicts with busybox, and its
# ash prefers its own applets to PATH (FEATURE_SH_STANDALONE), which breaks the lab's PATH
# stand-ins (the health check's tests stub `logger`); the lab keeps plain busybox as its shell.
# A Debian package, so no tarball: the key has the distro release (in every key) and this file;
# a point update of the package within a release is not picked up (asking apt-cache for the
# candidate costs ~1 s, and a cached run must take well under one). The .deb's name is in
# build.log.
VERSION="(Debian package)"
SOURCE=""
DEPS=()
PATCHES=()

source_id() { echo "deb=busybox-static (the distro's candidate when built)"; }

configure_args() { :; }

build_steps() {
  cd "$WORK" || exit 1
  step download apt-get download busybox-static
  step unpack dpkg-deb -x "$(ls "$WORK"/busybox-static_*.deb)" "$DESTDIR"
  step check "$DESTDIR/bin/busybox" crond --help
}
