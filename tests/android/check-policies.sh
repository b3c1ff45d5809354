#!/usr/bin/env bash
# Check that tests/android/sandbox.c installs what the generated files say:
# every policy/<release>.<arch>.txt of this machine's arch and every kernel
# of policy/kernel-masks.<arch>.txt. Run as root:
#
#   tests/android/check-policies.sh [BUILD_DIR]
#
# BUILD_DIR receives the sandbox and the probe (default: a temp dir, removed
# afterwards). CC (default gcc) builds them. For each policy:
#   - /bin/true (dynamic, glibc) dies of SIGSYS at start-up (status 159):
#     glibc's start-up makes calls no release allows (set_robust_list, rseq;
#     on x86_64 the dynamic loader's access() comes first);
#   - the probe (static, no libc) gets through getpid; set_robust_list and
#     rseq kill it with SIGSYS; a list of named calls is trapped exactly when
#     the policy lacks their number;
#   - `probe --scan`: the numbers the filter lets through are exactly the
#     policy's, x32 (x86_64) and i386 calls are trapped.
# For each kernel mask: the calls the mask names get the mask's errno, the
# others what they get without it, and the app policy's trap outranks the
# mask. And bionic's set*id range filter traps setresuid(-1, -1, -1).
# Exits 1 if anything differs.
set -uo pipefail
here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
arch=$(uname -m)
case $arch in x86_64 | aarch64) ;; *) echo "check-policies: no policies for $arch" >&2; exit 2 ;; esac
if [ "$(id -u)" != 0 ]; then
    echo "check-policies: needs root (the sandbox changes ids and installs filters)" >&2
    exit 2
fi

if [ $# -ge 1 ]; then
    build=$1
    mkdir -p "$build"
else
    build=$(mktemp -d "${TMPDIR:-/tmp}/android-check.XXXXXX")
    trap 'rm -rf -- "$build"' EXIT
fi
cc=${CC:-gcc}
$cc -O2 -Wall -o "$build/sandbox" "$here/sandbox.c" || exit 1
$cc -O1 -static -nostdlib -ffreestanding -fno-stack-protector -fno-builtin -Wall \
    -o "$build/probe" "$here/probe.c" || exit 1
chmod 755 "$build" "$build/sandbox" "$build/probe"
S=$build/sandbox P=$build/probe M=$here/policy/kernel-masks.$arch.txt
ID=(--uid 65534 --gid 65534)

pass=0 fail=0
result() { # result NAME WANT GOT
    if [ "$2" = "$3" ]; then
        pass=$((pass + 1))
        echo "ok   $1"
    else
        fail=$((fail + 1))
        printf 'FAIL %s\n--- want:\n%s\n--- got:\n%s\n---\n' "$1" "$2" "$3"
    fi
}
# The output of a command and its exit status as a shell reports it.
# (The shell's own "Bad system call" notice goes to /dev/null.)
run() { { "$@" 2>&1; echo "exit $?"; } 2>/dev/null; }

# Numbers of a policy file.
numbers() { awk '!/^#/ && NF == 2 { print $2 }' "$1" | sort -n; }

# What `probe --catch CALLS` should print under policy $1: the call's line
# from a run as the same user without any filter, or SIGSYS when the policy
# lacks its number.
expect_calls() {
    local policy=$1
    shift
    "$S" "${ID[@]}" "$P" --catch "$@" | while read -r name nr rest; do
        if [ "${nr#i386}" != "$nr" ] || ! grep -qx "$nr" <(numbers "$policy"); then
            echo "$name $nr SIGSYS"
        else
            echo "$name $nr $rest"
        fi
    done
}

CALLS=(getpid set_robust_list rseq newfstatat clone3 close_range faccessat2 openat2
    pidfd_open statx setgroups setresgid setresuid sethostname)
[ "$arch" = x86_64 ] && CALLS+=(poll lstat access x32_getpid i386_getpid)

for policy in "$here"/policy/*."$arch".txt; do
    rel=$(basename "$policy" ".$arch.txt")
    [ "$rel" = kernel-masks ] && continue
    echo "== policy $rel ($arch)"
    SP=("$S" --policy "$policy" "${ID[@]}")

    got=$(run "${SP[@]}" /bin/true)
    result "$rel: /bin/true dies of SIGSYS at start-up" "exit 159" "$got"
    if command -v strace >/dev/null; then
        why=$(strace -f -qq -e trace=none -e signal=SIGSYS "${SP[@]}" /bin/true 2>&1 |
            grep -o 'si_syscall=[^,]*' | head -1)
        echo "     (the first call trapped: ${why:-unknown})"
    fi
    result "$rel: the probe gets through getpid" "$(printf 'getpid %s ok\nexit 0' "$("$P" getpid | cut -d' ' -f2)")" \
        "$(run "${SP[@]}" "$P" getpid)"
    for c in set_robust_list rseq; do
        nr=$("$P" --catch "$c" | cut -d' ' -f2)
        result "$rel: $c kills the probe" "$(printf '%s %s exit 159' "$c" "$nr")" \
            "$(run "${SP[@]}" "$P" "$c" | tr '\n' ' ' | sed 's/  */ /g; s/ $//')"
    done
    result "$rel: named calls trapped exactly when the policy lacks them" \
        "$(expect_calls "$policy" "${CALLS[@]}")" "$("${SP[@]}" "$P" --catch "${CALLS[@]}")"

    scan=$("${SP[@]}" "$P" --scan 512)
    want=$(numbers "$policy" | awk '$1 < 512')
    # A skipped number (one the probe needs, or one no filter sees) counts
    # as what the policy says.
    skipped=$(echo "$scan" | awk '$2 == "skip" { print $1 }')
    got_allowed=$( (echo "$scan" | awk '$2 == "allow" { print $1 }'
        comm -12 <(echo "$skipped" | sort) <(echo "$want" | sort)) | sort -n)
    result "$rel: the numbers the filter allows are the policy's" "$want" "$got_allowed"
    result "$rel: every other number is trapped, none odd" "0" \
        "$(echo "$scan" | awk '$1 ~ /^[0-9]+$/ && $2 != "allow" && $2 != "skip" && $2 != "trap"' | wc -l)"
    echo "     (not scanned: $(echo $skipped))"
    if [ "$arch" = x86_64 ]; then
        result "$rel: x32 and i386 calls are trapped" "$(printf 'x32 trap\ni386 trap')" \
            "$(echo "$scan" | grep -E '^(x32|i386) ')"
    fi
done

# Kernel masks. The probe's calls and what each mask rule does to them.
MCALLS=(rseq io_pgetevents clone3 close_range faccessat2 openat2 epoll_pwait2 pidfd_open statx
    ptrace_seccomp_metadata ptrace_get_syscall_info ptrace_get_rseq_configuration
    ptrace_set_sud_config seccomp_get_notif_sizes seccomp_flag_spec_allow
    seccomp_flag_new_listener seccomp_flag_tsync_esrch seccomp_flag_wait_killable_recv
    waitid_pidfd)
masked() { # masked KERNEL CALL NR: the errno the mask gives, or nothing
    local k=$1 call=$2 nr=$3
    case $call in
    ptrace_seccomp_metadata) rule="ptrace-eio 0x420d" e=EIO ;;
    ptrace_get_syscall_info) rule="ptrace-eio 0x420e" e=EIO ;;
    ptrace_get_rseq_configuration) rule="ptrace-eio 0x420f" e=EIO ;;
    ptrace_set_sud_config) rule="ptrace-eio 0x4210" e=EIO ;;
    seccomp_get_notif_sizes) rule="seccomp-op-einval 3" e=EINVAL ;;
    waitid_pidfd) rule="waitid-einval 3" e=EINVAL ;;
    seccomp_flag_*)
        local bit
        case $call in
        *spec_allow) bit=4 ;; *new_listener) bit=8 ;; *tsync_esrch) bit=16 ;; *) bit=32 ;;
        esac
        local flags
        flags=$(awk -v k="$k" '$1 == k && $2 == "seccomp-flags-einval" { print $3 }' "$M")
        if [ -n "$flags" ] && (((flags & bit) != 0)); then echo EINVAL; fi
        return
        ;;
    *)
        local from
        from=$(awk -v k="$k" '$1 == k && $2 == "enosys-from" { print $3 }' "$M")
        if [ "$nr" -ge "$from" ] || grep -q "^$k enosys $nr " "$M"; then echo ENOSYS; fi
        return
        ;;
    esac
    if grep -q "^$k $rule\( \|$\)" "$M"; then echo "$e"; fi
}
base=$("$S" "${ID[@]}" "$P" --catch "${MCALLS[@]}")
for k in $(awk '!/^#/ && $2 == "enosys-from" { print $1 }' "$M"); do
    echo "== kernel mask $k ($arch)"
    want=$(echo "$base" | while read -r name nr rest; do
        e=$(masked "$k" "$name" "$nr")
        if [ -n "$e" ]; then echo "$name $nr -$e"; else echo "$name $nr $rest"; fi
    done)
    result "$k: masked calls get the old kernel's answer, the others the host's" "$want" \
        "$("$S" --kernel "$k" --masks "$M" "${ID[@]}" "$P" --catch "${MCALLS[@]}")"
    result "$k: nr 1000 (above every table) gets ENOSYS" "nr:1000 1000 -ENOSYS" \
        "$("$S" --kernel "$k" --masks "$M" "${ID[@]}" "$P" nr:1000)"
done

echo "== filters stacked"
clone3=$("$P" --catch clone3 | cut -d' ' -f2)
for policy in "$here"/policy/*."$arch".txt; do
    rel=$(basename "$policy" ".$arch.txt")
    [ "$rel" = kernel-masks ] && continue
    if grep -qx "$clone3" <(numbers "$policy"); then want="clone3 $clone3 -ENOSYS"; else want="clone3 $clone3 SIGSYS"; fi
    result "$rel + 4.14: clone3 is ENOSYS if the policy allows it, else trapped" "$want" \
        "$("$S" --policy "$policy" --kernel 4.14 --masks "$M" "${ID[@]}" "$P" --catch clone3)"
done
echo "== long and too large policies"
# A jump table whose conditional jumps cannot reach (they span at most 255
# instructions): every even number below 1400, and the calls the sandbox and
# the probe need after the filter is installed.
if [ "$arch" = x86_64 ]; then need="1 13 15 59 117 157 231"; else need="64 94 134 139 147 167 221"; fi
{
    echo "# every even number, for check-policies.sh"
    { seq 0 2 1398; printf '%s\n' $need; } | sort -n -u | awk '{ print "n" $1, $1 }'
} > "$build/long.txt"
scan=$("$S" --policy "$build/long.txt" "${ID[@]}" "$P" --scan 1400)
want=$(numbers "$build/long.txt")
skipped=$(echo "$scan" | awk '$2 == "skip" { print $1 }')
got_allowed=$( (echo "$scan" | awk '$2 == "allow" { print $1 }'
    comm -12 <(echo "$skipped" | sort) <(echo "$want" | sort)) | sort -n)
result "a policy of $(echo "$want" | wc -l) numbers in $(echo "$want" | awk 'NR == 1 || $1 != p + 1 { n++ } { p = $1 } END { print n }') ranges is installed as written" \
    "$want" "$got_allowed"
seq 0 2 9998 | awk '{ print "n" $1, $1 }' > "$build/huge.txt"
result "a policy too large for one filter is refused" \
    "$(printf '%s\nexit 125' "sandbox: the app policy filter needs more than 4096 instructions")" \
    "$(run "$S" --policy "$build/huge.txt" "${ID[@]}" /bin/true)"

main=$here/policy/main.$arch.txt
result "set*id range 90000:99999: setresuid(-1, -1, -1) is trapped, -1 being outside" \
    "$(printf 'setresuid %s SIGSYS\ngetpid %s ok' "$("$P" --catch setresuid | cut -d' ' -f2)" "$("$P" getpid | cut -d' ' -f2)")" \
    "$("$S" --policy "$main" --setid-range 90000:99999 --uid 90001 --gid 90001 "$P" --catch setresuid getpid)"
result "no_new_privs is not set by default, as zygote leaves it" "0" \
    "$("$S" "${ID[@]}" /bin/grep -c '^NoNewPrivs:[[:space:]]*1' /proc/self/status)"
result "--no-new-privs sets it" "1" \
    "$("$S" --no-new-privs "${ID[@]}" /bin/grep -c '^NoNewPrivs:[[:space:]]*1' /proc/self/status)"
result "a usage error exits 2" "exit 2" "$(run "$S" --uid 1 /bin/true | tail -1)"

echo "== check-policies: $pass passed, $fail failed"
[ "$fail" = 0 ]
