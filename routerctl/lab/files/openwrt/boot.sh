#!/bin/sh
# Builds the root of a lab router that runs an OpenWrt release (lab up --openwrt R).
# Runs in the router's network namespace, in a fresh private mount and UTS namespace
# (unshare), so none of these mounts are visible on the host; ends as the namespace
# holder (sleep). $1: the router's state folder (upper/ rootfs/ home/), $2: /overlay's
# free space in KB.
# As on OpenWrt, /overlay is a filesystem of its own holding upper/ and work/: a tmpfs
# whose size is what the prepared upper layer takes plus $2, so a package that does not
# fit makes the real opkg/apk fail with "No space left on device".
set -eu
S=$1
R=$S/rootfs
O=$S/overlay
hostname OpenWrt
mkdir -p "$O"
mount -t tmpfs -o mode=0755,size=1g tmpfs "$O"
cp -a "$S/upper" "$O/upper"
mkdir "$O/work"
used=$(df -k "$O" | awk 'NR == 2 { print $3 }')
mount -o "remount,size=$((used + $2))k" "$O"
mount -t overlay overlay -o "lowerdir=/,upperdir=$O/upper,workdir=$O/work" "$R"
mount -t proc proc "$R/proc"
mount --rbind /sys "$R/sys"
# a /dev of its own: syslogd's /dev/log must not land in the host's /dev
mount -t tmpfs -o mode=0755,size=1m tmpfs "$R/dev"
for n in null zero full random urandom tty; do
	touch "$R/dev/$n"
	mount --bind "/dev/$n" "$R/dev/$n"
done
mkdir "$R/dev/pts" "$R/dev/shm"
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts "$R/dev/pts"
ln -s pts/ptmx "$R/dev/ptmx"
mount -t tmpfs -o mode=1777,size=16m tmpfs "$R/dev/shm"
mount -t tmpfs -o mode=0755,size=16m tmpfs "$R/run"
mkdir -p "$R/run/lock"
mount -t tmpfs -o mode=1777,size=64m tmpfs "$R/tmp"
mount --bind "$S/home" "$R/root"
mount --bind "$O" "$R/overlay"
touch "$S/ready"
exec chroot "$R" /usr/bin/python3 -I -c "$(cat "$S/reaper.py")" routerctl-lab-init
