#!/bin/bash
# Workloads for tests/android.rs, run by bash inside the Debian guest under
# sproot with proot-distro's options (fake root). For each workload: a line
# "== NAME", its output (stdout and stderr) and "exit STATUS". The same run
# with and without the Android sandbox must print the same.
#
#   android-workloads WORKDIR
#
# WORKDIR (under /tmp, unique per run) is created and removed; nothing else
# in the rootfs is written, so runs can go on side by side.
set -u
W=${1:?usage: android-workloads WORKDIR}
rm -rf "$W"
mkdir -p "$W" && cd "$W" || exit 1

step() {
    printf '== %s\n' "$1"
    shift
    "$@" 2>&1
    printf 'exit %s\n' "$?"
}

step pipeline sh -c 'printf "b\na\nc\n" | sort | tr a-z A-Z | head -2 | wc -l'

step job-control bash -c 'set -m; sleep 0.1 & wait; echo "waited $?"; sleep 0.1 & p=$!; wait $p; echo "job $?"'

step ls-etc sh -c 'ls -l /etc | sed -n 1,10p'

step test-x sh -c 'test -x /bin/sh && echo executable; [ -x /etc/passwd ] || echo "not executable"'

step python-threads python3 -c '
import os, threading
sizes = []
def work():
    sizes.append(os.stat("/etc/passwd").st_size)
threads = [threading.Thread(target=work) for _ in range(50)]
for t in threads: t.start()
for t in threads: t.join()
print(len(sizes), len(set(sizes)))'

step perl perl -e 'my %len = map { $_ => length } qw(a bb ccc); print join(",", map { "$_=$len{$_}" } sort keys %len), "\n"'

if [ -x /usr/bin/node ]; then
    step node node -e 'console.log(require("os").platform(), [1, 2, 3].map((x) => x * 2).join(","))'
fi

step dpkg-unpack sh -c '
mkdir -p pkg/DEBIAN pkg/usr/share/sproot-android root/var/lib/dpkg/updates root/var/lib/dpkg/info
touch root/var/lib/dpkg/status
echo hello > pkg/usr/share/sproot-android/hello
printf "Package: sproot-android-probe\nVersion: 1.0\nArchitecture: all\nMaintainer: sproot tests <tests@localhost>\nDescription: a tiny package\n" > pkg/DEBIAN/control
dpkg-deb --root-owner-group --build pkg probe.deb >/dev/null &&
dpkg --root="$PWD/root" --force-script-chrootless --unpack probe.deb &&
cat root/usr/share/sproot-android/hello &&
stat -c "%U:%G %a" root/usr/share/sproot-android/hello &&
dpkg --root="$PWD/root" -l sproot-android-probe | tail -1 | cut -c1-40'

# apt drops privileges to _apt this way before it downloads.
step privilege-drop python3 -c '
import os
os.setgroups([])
os.setresgid(42, 42, 42)
os.setresuid(42, 42, 42)
print(os.getresuid(), os.getresgid(), os.getgroups())'

step chown-stat-id sh -c 'touch f && chown 1:1 f; stat -c "%u %g" f; id'

step hostname sh -c 'hostname foo; echo "hostname: $?"; hostname'

step mount sh -c 'mount -t tmpfs none /mnt; echo "mount: $?"'

step chroot sh -c 'chroot / true; echo "chroot: $?"'

step memfd python3 -c '
import os
fd = os.memfd_create("sproot")
os.write(fd, b"in memory")
os.lseek(fd, 0, 0)
print(os.read(fd, 64).decode(), os.readlink("/proc/self/fd/%d" % fd).split(" ")[0])'

step guest-trap /usr/local/bin/android-guest-trap

cd / && rm -rf "$W"
