# Shared by the lab's opkg and apk stand-ins (sourced; POSIX sh for busybox ash).
# The feed is data: /usr/share/routerctl-lab/feed has one package per line,
# "name version installed-size-kb depends(comma-separated or -) hook".
# Installing runs the package's hook, which makes its files appear in the router
# (they are hidden until then); the real files come from the stash.
LAB=/usr/share/routerctl-lab
STASH=$LAB/stash
FEED=$LAB/feed
CALL_LOG=/var/log/routerctl-lab/pkg.log

log_call() { # $1 tool, $2 exit code, rest: the arguments
	t=$1 rc=$2
	shift 2
	mkdir -p "${CALL_LOG%/*}"
	echo "$(date +%s) $t $* rc=$rc" >>"$CALL_LOG"
}

feed_line() { awk -v p="$1" '$1 == p { print; exit }' "$FEED"; }
feed_field() { feed_line "$1" | awk -v f="$2" '{ print $f }'; }

overlay_free_kb() { df -k /overlay | awk 'NR == 2 { print $4 }'; }

consume_space() { # $1 package, $2 size in KB: the package's files take space on /overlay
	mkdir -p /overlay/upper/.lab-pkg
	dd if=/dev/zero of="/overlay/upper/.lab-pkg/$1" bs=1024 count="$2" 2>/dev/null
}

release_space() { rm -f "/overlay/upper/.lab-pkg/$1"; }

hook_frr() {
	mkdir -p /etc/frr /usr/lib/frr /var/run/frr
	for f in daemons frr.conf vtysh.conf; do
		[ -f "/etc/frr/$f" ] || cp "$LAB/defaults/frr/$f" "/etc/frr/$f"
	done
	chown -R frr:frr /etc/frr
	cp "$LAB/init/frr" /etc/init.d/frr
	chmod 755 /etc/init.d/frr
	[ "${1:-}" = merged-vtysh ] && hook_frr_vtysh
	return 0
}
unhook_frr() {
	[ -x /etc/init.d/frr ] && /etc/init.d/frr stop
	rm -f /etc/init.d/frr /etc/rc.d/S60frr
	[ "${1:-}" = merged-vtysh ] && unhook_frr_vtysh
	return 0
}
hook_frr_zebra() { mkdir -p /usr/lib/frr && ln -sf "$STASH/frr/zebra" /usr/lib/frr/zebra; }
unhook_frr_zebra() { rm -f /usr/lib/frr/zebra; }
hook_frr_bgpd() { mkdir -p /usr/lib/frr && ln -sf "$STASH/frr/bgpd" /usr/lib/frr/bgpd; }
unhook_frr_bgpd() { rm -f /usr/lib/frr/bgpd; }
hook_frr_vtysh() { ln -sf "$STASH/vtysh" /usr/bin/vtysh; }
unhook_frr_vtysh() { rm -f /usr/bin/vtysh; }
hook_quagga() {
	mkdir -p /etc/quagga /var/run/frr
	[ -e /etc/frr ] || ln -s /etc/quagga /etc/frr
	[ -f /etc/quagga/vtysh.conf ] || cp "$LAB/defaults/quagga/vtysh.conf" /etc/quagga/vtysh.conf
	chown -R frr:frr /etc/quagga
	cp "$LAB/init/quagga" /etc/init.d/quagga
	chmod 755 /etc/init.d/quagga
}
unhook_quagga() {
	[ -x /etc/init.d/quagga ] && /etc/init.d/quagga stop
	rm -f /etc/init.d/quagga /etc/rc.d/S60quagga
	return 0
}
hook_quagga_zebra() { ln -sf "$STASH/frr/zebra" /usr/sbin/zebra; }
unhook_quagga_zebra() { rm -f /usr/sbin/zebra; }
hook_quagga_bgpd() { ln -sf "$STASH/frr/bgpd" /usr/sbin/bgpd; }
unhook_quagga_bgpd() { rm -f /usr/sbin/bgpd; }
hook_quagga_vtysh() { cp "$LAB/quagga-vtysh" /usr/bin/vtysh && chmod 755 /usr/bin/vtysh; }
unhook_quagga_vtysh() { rm -f /usr/bin/vtysh; }
hook_none() { :; }
unhook_none() { :; }

run_hook() { # $1 install|remove, $2 package
	h=$(feed_field "$2" 5)
	arg=
	case $h in *:*) arg=${h#*:} h=${h%%:*} ;; esac
	[ -n "$h" ] || h=none
	if [ "$1" = install ]; then "hook_$h" "$arg"; else "unhook_$h" "$arg"; fi
}

postinst_service() { # OpenWrt's default_postinst: enable and start the package's service
	case $1 in
	frr | quagga)
		"/etc/init.d/$1" enable
		"/etc/init.d/$1" start >/dev/null 2>&1
		;;
	esac
	return 0
}
