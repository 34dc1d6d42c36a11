#!/bin/sh
# Builds an OpenWrt-like root for one lab router. Runs in the router's network
# namespace, in a fresh private mount and UTS namespace (unshare), so none of
# these mounts are visible on the host; ends as the namespace holder (sleep).
# $1: the router's state folder (upper/ work/ rootfs/ home/), $2: /overlay size in KB.
set -eu
S=$1
R=$S/rootfs
hostname OpenWrt
mount -t overlay overlay -o "lowerdir=/,upperdir=$S/upper,workdir=$S/work" "$R"
mount -t proc proc "$R/proc"
mount --rbind /sys "$R/sys"
mount --rbind /dev "$R/dev"
mount -t tmpfs -o mode=0755,size=16m tmpfs "$R/run"
mount -t tmpfs -o mode=1777,size=64m tmpfs "$R/tmp"
mount --bind "$S/home" "$R/root"
mount -t tmpfs -o "size=${2}k" tmpfs "$R/overlay"
# The suite's files, hidden in the router until a package "installs" them.
mount --bind /usr/lib/frr "$R/usr/share/routerctl-lab/stash/frr"
mount --bind /usr/bin/vtysh "$R/usr/share/routerctl-lab/stash/vtysh"
touch "$S/ready"
exec chroot "$R" /bin/sleep infinity
