#!/usr/bin/env bash
# The floors of intercepting one path syscall (benches/floors/trap_floor.c):
# a newfstatat loop natively, through an in-process SIGSYS handler
# (SECCOMP_RET_TRAP), through a do-nothing ptrace tracer (SECCOMP_RET_TRACE),
# through the SIGSYS handler in a ptraced process (what an in-process fast
# path costs in a sproot guest), and through a seccomp user-notification
# supervisor. Modes run interleaved (A B C ... A B C ...), pinned to one CPU;
# prints the median ns per call and the ratio to native.
#
#   scripts/floors.sh [ROUNDS] [CALLS] [CPU]      (defaults 7, 100000, 0)
#
# x86_64 only; needs a C compiler.
set -euo pipefail
rounds=${1:-7} calls=${2:-100000} cpu=${3:-0}
here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
bin=$(mktemp -d)/trap_floor
trap 'rm -rf "$(dirname "$bin")"' EXIT
cc -O2 -Wall -o "$bin" "$here/benches/floors/trap_floor.c"
modes=(native trap trace trap-traced notify notify-sync)
declare -A runs stops
for ((r = 0; r < rounds; r++)); do
    for m in "${modes[@]}"; do
        read -r _ ns sig sec < <("$bin" "$m" "$calls" "$cpu")
        runs[$m]+="$ns "
        stops[$m]="signal-stops $sig, seccomp-stops/notifications $sec"
    done
done
median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
base=$(echo "${runs[native]}" | median)
printf '%-12s %10s %8s   %s\n' mode 'ns/call' '÷native' "runs (ns), stops in the last run"
for m in "${modes[@]}"; do
    med=$(echo "${runs[$m]}" | median)
    printf '%-12s %10s %8s   %s(%s)\n' "$m" "$med" "$(awk -v a="$med" -v b="$base" 'BEGIN{printf "%.2f", a/b}')" "${runs[$m]}" "${stops[$m]}"
done
