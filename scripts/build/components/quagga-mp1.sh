# shellcheck shell=bash disable=SC2034  # sourced by scripts/build/lab-build, which reads these
# Quagga 1.2.4 as upstream's default build has it: the same sources, OpenWrt's patches and
# configure arguments as components/quagga.sh, but --enable-multipath=1 (upstream Quagga's
# default: bgpd accepts only "maximum-paths <1-1>", zebra installs one next hop) where
# OpenWrt passes 8. The lab's `--quagga-multipath 1` installs it on a release router, so the
# pre-flight's suite-multipath check meets a real bgpd built that way. pimd is left out
# (no package ships it) to keep the cold build small; it builds after quagga in its chain.
# shellcheck source=scripts/build/components/quagga.sh
. "$BUILD_DIR/components/quagga.sh"
# the key records these configure arguments and quagga.sh's patches (not quagga.sh's hash:
# a change to its build_steps alone does not rebuild this variant)
eval "quagga_configure_args() $(declare -f configure_args | tail -n +2)"

configure_args() {
  quagga_configure_args | sed 's/^--enable-multipath=8$/--enable-multipath=1/'
  printf '%s\n' --disable-pimd
}
