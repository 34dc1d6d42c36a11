# /lib/functions.sh of the routerctl lab: the few helpers OpenWrt's init scripts and
# package maintainer scripts use (a stand-in: OpenWrt's base-files is not built here).
# shellcheck shell=sh

uci_get() { # config.section.option [default]
	/sbin/uci -q get "$1" 2>/dev/null || { [ -n "${2:-}" ] && echo "$2"; }
}

add_group_and_user() { # from the package's control: Require-User: user[:group]
	:
}

default_postinst() {
	root=${IPKG_INSTROOT:-}
	[ -z "$root" ] || return 0
	pkgname=${1:-}
	for i in $(grep -s '^/etc/init.d/' "/usr/lib/opkg/info/$pkgname.list" "/lib/apk/packages/$pkgname.list" 2>/dev/null | sed 's/^[^:]*://'); do
		[ -x "$i" ] || continue
		"$i" enable
		"$i" start
	done
	return 0
}

default_prerm() {
	pkgname=${1:-}
	for i in $(grep -s '^/etc/init.d/' "/usr/lib/opkg/info/$pkgname.list" "/lib/apk/packages/$pkgname.list" 2>/dev/null | sed 's/^[^:]*://'); do
		[ -x "$i" ] || continue
		"$i" disable
		"$i" stop
	done
	return 0
}
