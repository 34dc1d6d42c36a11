# shellcheck shell=sh
# /lib/functions.sh of the routerctl lab: the few helpers OpenWrt's init scripts and
# package maintainer scripts use (a stand-in: OpenWrt's base-files is not built here).

uci_get() { # config.section.option [default]
	/sbin/uci -q get "$1" 2>/dev/null || { [ -n "${2:-}" ] && echo "$2"; }
}

add_group_and_user() { # from the package's control: Require-User: user[:group]
	:
}

_pkg_initscripts() { # $1: opkg's maintainer script path (opkg) or empty ($pkgname: apk)
	p=${pkgname:-}
	[ -n "${1:-}" ] && p=$(basename "${1%.*}")
	grep -hs '^/etc/init.d/' "/usr/lib/opkg/info/$p.list" "/lib/apk/packages/$p.list"
}

# OpenWrt's: enable and start the package's init scripts (when installing on the router)
default_postinst() {
	[ -z "${IPKG_INSTROOT:-}" ] || return 0
	for i in $(_pkg_initscripts "${1:-}"); do
		[ -x "$i" ] || continue
		[ "${PKG_UPGRADE:-}" = 1 ] || "$i" enable
		"$i" start
	done
	return 0
}

default_prerm() {
	for i in $(_pkg_initscripts "${1:-}"); do
		[ -x "$i" ] || continue
		"$i" disable
		"$i" stop
	done
	return 0
}
