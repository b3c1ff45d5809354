# Android's app sandbox on aarch64, sourced by vm-suite.sh at its end (it
# defines S, R, P, result and check, and counts the results). The disk holds
# the aarch64 policies and kernel masks made by tests/android/gen-policy.py
# (/mnt/android/*.aarch64.txt), tests/android/sandbox.c and probe.c built
# static (progs/android-sandbox, progs/android-probe).
#
# For each Android release: the filter the sandbox installs lets through
# exactly the policy's numbers and traps glibc's set_robust_list; then sproot
# runs a few workloads as uid 65534, set up the way zygote sets up an app,
# under the release's policy, and must print what the same run prints
# without the sandbox. So must two runs on a 4.14 kernel: without a policy,
# and with main's (the newest policy allows calls, clone3 for one, that 4.14
# answers with ENOSYS); tests/android.rs runs every policy on 4.14. The
# workloads use fake root (-0) and write nothing outside /tmp, so the
# root-owned rootfs will do; sethostname goes through perl, as this rootfs
# has no hostname program. Kept small (about 20 s): every ptrace stop costs
# ~0.3 ms on the emulated CPU.
echo "== Android app sandbox"
A=/mnt/android SB=$P/android-sandbox PR=$P/android-probe
A_MASKS=$A/kernel-masks.aarch64.txt
A_WORK='echo "== pipeline"; echo c b a | tr " " "\n" | sort | wc -l
echo "== ls -l"; ls -l /etc | sed -n 1,6p
echo "== test -x"; test -x /bin/sh && echo executable
echo "== id"; id
echo "== chown"; d=$(mktemp -d) && touch "$d/f" && chown 12:34 "$d/f" && stat -c %u:%g "$d/f"; rm -rf "$d"
echo "== sethostname"; perl -e "my \$name = q(foo); print syscall(161, \$name, 3), qq(\n)"; uname -n'
# a_run SANDBOX-OPTIONS...: the workloads under sproot in that sandbox
# (with the engine $A_ENGINE names, the default if empty).
A_ENGINE=
a_run() {
    "$SB" "$@" --uid 65534 --gid 65534 "$S" ${A_ENGINE:+--engine=$A_ENGINE} -0 -r "$R" \
        /bin/sh -c "$A_WORK" 2>&1
    echo "exit $?"
}
a_base=$(a_run)
case $a_base in
*"== sethostname"*"0"*"foo"*"exit 0") a_ok=yes ;;
*) a_ok="no:
$a_base" ;;
esac
result "android: the workloads succeed without the sandbox" yes "$a_ok"
a_srl=$("$PR" --catch set_robust_list | cut -d' ' -f1,2)
# The releases whose policies the disk holds.
A_RELEASES=$(for a_pol in "$A"/*.aarch64.txt; do
    a_rel=${a_pol##*/}
    a_rel=${a_rel%.aarch64.txt}
    [ "$a_rel" = kernel-masks ] || echo "$a_rel"
done)
for a_rel in $A_RELEASES; do
    a_pol=$A/$a_rel.aarch64.txt
    result "android $a_rel: the filter allows exactly the policy's numbers" \
        "$(awk '!/^#/ && NF == 2 && $2 < 512 { print $2 }' "$a_pol" | sort -n)" \
        "$("$SB" --policy "$a_pol" --uid 65534 --gid 65534 "$PR" --scan 512 |
            awk '$2 == "allow" || $2 == "skip" { print $1 }' | sort -n)"
    check "android $a_rel: glibc's set_robust_list is trapped" "$(printf '%s SIGSYS\nexit 0' "$a_srl")" \
        "$SB" --policy "$a_pol" --uid 65534 --gid 65534 "$PR" --catch set_robust_list
    result "android $a_rel: sproot's workloads as without the sandbox" "$a_base" \
        "$(a_run --policy "$a_pol")"
done
result "android kernel 4.14, no policy: sproot's workloads as without the sandbox" "$a_base" \
    "$(a_run --kernel 4.14 --masks "$A_MASKS")"
result "android main on kernel 4.14: sproot's workloads as without the sandbox" "$a_base" \
    "$(a_run --policy "$A/main.aarch64.txt" --kernel 4.14 --masks "$A_MASKS")"
# --sysvipc: a program's whole view of SysV IPC (tests/sysvipc/semantics.c)
# under sproot's emulation is the kernel's here, and the same under every
# release's policy (which traps every IPC call).
a_ipc() {
    "$SB" "$@" --uid 65534 --gid 65534 "$S" ${A_ENGINE:+--engine=$A_ENGINE} --sysvipc \
        -b "$P" -r "$R" "$P/sysv-semantics" 2>&1
    echo "exit $?"
}
a_ipc_kernel=$(cd /tmp && "$SB" --uid 65534 --gid 65534 "$P/sysv-semantics" 2>&1; echo "exit $?")
result "android: --sysvipc answers as the kernel's SysV IPC" "$a_ipc_kernel" "$(a_ipc)"
for a_rel in $A_RELEASES; do
    a_pol=$A/$a_rel.aarch64.txt
    result "android $a_rel: --sysvipc as without the sandbox" "$a_ipc_kernel" \
        "$(a_ipc --policy "$a_pol")"
done
# The in-process engine under the same policies: the runtime in each guest
# completes the calls the policy traps (its own included) in place.
A_ENGINE=inproc
for a_rel in $A_RELEASES; do
    a_pol=$A/$a_rel.aarch64.txt
    result "android $a_rel, --engine=inproc: sproot's workloads as without the sandbox" "$a_base" \
        "$(a_run --policy "$a_pol")"
done
result "android main on kernel 4.14, --engine=inproc: the workloads as without the sandbox" \
    "$a_base" "$(a_run --policy "$A/main.aarch64.txt" --kernel 4.14 --masks "$A_MASKS")"
result "android 8.0, --engine=inproc: --sysvipc as without the sandbox" "$a_ipc_kernel" \
    "$(a_ipc --policy "$A/8.0.aarch64.txt")"
result "android main, --engine=inproc: --sysvipc as without the sandbox" "$a_ipc_kernel" \
    "$(a_ipc --policy "$A/main.aarch64.txt")"
A_ENGINE=
