#!/bin/sh
# sproot's integration tests on aarch64, run inside the aarch64 VM by
# scripts/test-a64.sh (busybox userland, as root). The disk (/mnt) holds
# sproot (static, aarch64), an arm64 Debian rootfs (rootfs/) and the test
# programs built by the cross compiler (progs/). What a guest sees under
# sproot is compared with what it sees under chroot(8) of the same rootfs.
#
# Storm sizes are scaled for the emulated CPU (a ptrace stop costs ~0.3 ms
# there): A64_STORM_ROUNDS (default 6) rounds of 32 threads / 16 forks.
set -u
S=/mnt/sproot R=/mnt/rootfs P=/mnt/progs
ROUNDS=${A64_STORM_ROUNDS:-6}
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
# The engine of the checks without an --engine option: A64_ENGINE
# (scripts/test-a64.sh runs the suite with ptrace, then with inproc); the
# checks of one engine name it.
export SPROOT_ENGINE=${A64_ENGINE:-ptrace}
echo "== engine: $SPROOT_ENGINE (checks without --engine)"
pass=0 fail=0

result() {  # result NAME WANT GOT
    if [ "$2" = "$3" ]; then
        pass=$((pass + 1)); echo "ok   $1"
    else
        fail=$((fail + 1))
        printf 'FAIL %s\n--- want:\n%s\n--- got:\n%s\n---\n' "$1" "$2" "$3"
    fi
}
# check NAME WANT CMD...: CMD's output (stdout and stderr) and exit status.
check() {
    name=$1 want=$2; shift 2
    result "$name" "$want" "$("$@" 2>&1; echo "exit $?")"
}
# like_chroot NAME SPROOT-OPTIONS SCRIPT: /bin/sh -c SCRIPT prints the same
# and exits the same under `sproot OPTIONS -r R` as under `chroot R`.
like_chroot() {
    want=$(chroot "$R" /bin/sh -c "$3" 2>&1; echo "exit $?")
    # shellcheck disable=SC2086
    got=$("$S" $2 -r "$R" /bin/sh -c "$3" 2>&1; echo "exit $?")
    result "$1" "$want" "$got"
}

mkdir -p "$R/usr/local/bin" "$R/proc" "$R/dev"
cp "$P"/* "$R/usr/local/bin/"
printf '#!/bin/sh\necho "script $0 $*"\n' > "$R/usr/local/bin/script"
printf '#!/usr/bin/env bash\necho "bash ${BASH_VERSINFO[0]} $0"\n' > "$R/usr/local/bin/envscript"
chmod 755 "$R/usr/local/bin/script" "$R/usr/local/bin/envscript"

echo "== shell, pipes, bash, id under -0"
check "debian shell under -0" "$(printf '0 0\n3\nbash 5\nexit 0')" \
    "$S" -0 -r "$R" /bin/sh -c \
    'echo "$(id -u) $(id -g)"; echo a b c | wc -w; bash -c "echo bash \${BASH_VERSINFO[0]}"'

echo "== exec and the loader"
for p in hello hello-nopie hello-static hello-spie; do
    like_chroot "exec $p" "" "/usr/local/bin/$p x; $p y z"
done
like_chroot "shebang script" "" "/usr/local/bin/script a b; script c"
like_chroot "shebang with /usr/bin/env" "" "envscript"
like_chroot "exec of a missing program" "" "/nonexistent; echo \$?"
like_chroot "exec of a non-executable file" "" "/etc/debian_version; echo \$?"
check "/proc/self/exe is the guest path" "$(printf '/bin/readlink\nexit 0')" \
    "$S" -b /proc -r "$R" /bin/readlink /proc/self/exe

echo "== path translation"
like_chroot "paths" "" 'cd /usr/bin && pwd; ls -d /etc /usr/lib; readlink -f /bin/sh; cat /etc/debian_version; test -e /mnt/sproot && echo leak; echo done'
like_chroot "relative paths and .." "" 'cd /usr/share && ls -d ../bin ../../etc; cd ../../../..; pwd'
like_chroot "create, rename, remove" "" 'cd /tmp && mkdir d && echo x > d/f && mv d/f d/g && ln -s g d/l && cat d/l && rm -r d && ls -a /tmp | grep -c d'
# arm64 numbers O_NOFOLLOW its own way (x86_64's value is its O_LARGEFILE).
like_chroot "O_NOFOLLOW on a final symlink" "" 'ln -s /etc/debian_version /tmp/nf; dd if=/tmp/nf iflag=nofollow of=/dev/null status=none; echo $?; dd if=/tmp/nf of=/dev/null status=none; echo $?; rm /tmp/nf'

like_chroot "paths without seccomp (a stop at every syscall)" "--no-seccomp" \
    'cd /usr/bin && pwd; cat /etc/debian_version; ls -d /etc /usr/lib; readlink -f /bin/sh'
check "-0 without seccomp" "$(printf '0\nexit 0')" "$S" --no-seccomp -0 -r "$R" /usr/bin/id -u

echo "== the in-process engine (no tracer)"
like_chroot "inproc: paths" "--engine=inproc" \
    'cd /usr/bin && pwd; cat /etc/debian_version; ls -d /etc /usr/lib; readlink -f /bin/sh'
like_chroot "inproc: create, rename, remove" "--engine=inproc" \
    'cd /tmp && mkdir d && echo x > d/f && mv d/f d/g && ln -s g d/l && cat d/l && rm -r d && ls -a /tmp | grep -c d'
like_chroot "inproc: scripts, env and 100 vfork-execs" "--engine=inproc" \
    'script a b; envscript; for i in $(seq 100); do /bin/true; done; echo done'
like_chroot "inproc: threads" "--engine=inproc" "/usr/local/bin/threads $ROUNDS"
like_chroot "inproc: forks" "--engine=inproc" "/usr/local/bin/forks $ROUNDS"
# (The shell's own "Terminated" line depends on timing: not compared.)
like_chroot "inproc: a background job killed" "--engine=inproc" \
    '{ sleep 30 & pid=$!; sleep 0.2; kill -TERM $pid; wait $pid; echo $?; } 2>/dev/null'
check "inproc: the guest is not traced" "$(printf 'TracerPid:\t0\nexit 0')" \
    "$S" --engine=inproc -r "$R" -b /proc /bin/grep TracerPid /proc/self/status
check "inproc: exits 128+signal" "exit 143" "$S" --engine=inproc -r "$R" /bin/sh -c 'kill -TERM $$'

echo "== bindings"
mkdir -p /tmp/host-dir && echo from-host > /tmp/host-dir/file
check "a binding shows the host directory" "$(printf 'from-host\nexit 0')" \
    "$S" -r "$R" -b /tmp/host-dir:/opt/hd /bin/cat /opt/hd/file
"$S" -r "$R" -b /tmp/host-dir:/opt/hd /bin/sh -c 'echo from-guest > /opt/hd/new'
check "a write through a binding reaches the host" "$(printf 'from-guest\nexit 0')" cat /tmp/host-dir/new

echo "== fake root (as an unprivileged user)"
chmod 1777 /tmp
nobody() { su -s /bin/sh nobody -c "$*"; }
check "-0: id is root" "$(printf '0\nexit 0')" nobody "$S -0 -r $R /usr/bin/id -u"
check "-0: chown succeeds and stat shows it" "$(printf '12:34\nexit 0')" \
    nobody "$S -0 -r $R /bin/sh -c 'cd /tmp && touch f && chown 12:34 f && stat -c %u:%g f'"
check "without -0: chown fails" "exit 1" \
    nobody "$S -r $R /bin/sh -c 'cd /tmp && touch g && chown 12:34 g 2>/dev/null'"
check "-i 1000:1000" "$(printf '1000 1000\nexit 0')" \
    nobody "$S -i 1000:1000 -r $R /bin/sh -c 'echo \$(id -u) \$(id -g)'"

echo "== extensions"
check "-k sets the kernel release" "$(printf '6.17.0-sproot\nexit 0')" \
    "$S" -k 6.17.0-sproot -r "$R" /bin/uname -r
like_chroot "uname -m" "" "uname -m"
like_chroot "-l: a hard link outlives its first name" "-l" \
    'cd "$(mktemp -d)" && echo x > a && ln a b && cat b && rm a && cat b && ls'

echo "== the in-process engine with PRoot's extensions"
check "inproc -0: chown seen by a later process, id" \
    "$(printf '12:34\n0 0\nexit 0')" \
    nobody "$S --engine=inproc -0 -r $R /bin/sh -c 'cd /tmp && touch i0 && chown 12:34 i0 && stat -c %u:%g i0 && rm i0 && echo \$(id -u) \$(id -g)'"
check "inproc -i 1000:1000" "$(printf '1000 1000\nexit 0')" \
    nobody "$S --engine=inproc -i 1000:1000 -r $R /bin/sh -c 'echo \$(id -u) \$(id -g)'"
check "inproc -0 -k" "$(printf 'Linux 6.17.0-sproot\nexit 0')" \
    "$S" --engine=inproc -0 -k 6.17.0-sproot -r "$R" /bin/uname -rs
like_chroot "inproc -l: hard links as a chroot's real ones" "--engine=inproc -l" \
    'cd "$(mktemp -d)" && echo x > a && ln a b && stat -c %h a b && cat b && rm a && cat b && ls'
ipc_kernel=$(cd /tmp && "$P/sysv-semantics" 2>&1; echo "exit $?")
check "inproc --sysvipc answers as the kernel's SysV IPC" "$ipc_kernel" \
    "$S" --engine=inproc --sysvipc -b "$P" -r "$R" "$P/sysv-semantics"

echo "== signals and job control"
like_chroot "a guest killed by a signal" "" 'sh -c "kill -TERM \$\$"; echo $?'
like_chroot "a trapped signal" "" 'trap "echo caught" USR1; kill -USR1 $$; echo after'
# dash prints "Terminated" only if the job is reaped inside `wait` itself,
# which depends on scheduling: that message is not part of the comparison.
like_chroot "stop and continue a background job" "" 'sleep 30 & p=$!; kill -STOP $p; kill -CONT $p; kill $p; wait $p 2>/dev/null; echo $?'
check "sproot exits 128+signal" "exit 143" "$S" -r "$R" /bin/sh -c 'kill -TERM $$'

echo "== guest ptrace (tests/a64/tracer.c)"
# The tracer reads /proc/<pid>/auxv of its tracee: chroot needs a /proc.
mount -t proc proc "$R/proc"
# Each also without seccomp, where guest ptrace is emulated at the syscall
# stops every guest thread makes, and under the in-process engine, where
# the tracer and the processes it names are taken in by the ptrace engine
# at its first ptrace call.
for opt in "" --no-seccomp --engine=inproc; do
    ns=${opt:+ ($opt)}
    like_chroot "a PTRACE_TRACEME tracer sees syscalls, an exec and the exit$ns" "$opt -b /proc" \
        "/usr/local/bin/tracer"
    like_chroot "a tracer that seizes, interrupts and kills a running child$ns" "$opt" \
        "/usr/local/bin/tracer seize"
    like_chroot "a tracer follows a fork and a thread (TRACEFORK, TRACECLONE)$ns" "$opt" \
        "/usr/local/bin/tracer fork"
done
for mode in "" fork; do  # both again in chaos event order
    want=$(chroot "$R" /usr/local/bin/tracer $mode 2>&1; echo "exit $?")
    for seed in 1 2; do
        check "tracer${mode:+ $mode} in chaos event order (seed $seed)" "$want" \
            env SPROOT_CHAOS=$seed "$S" --engine=ptrace -b /proc -r "$R" /usr/local/bin/tracer $mode
    done
done
# A debugger and a tracer from the distribution, and sproot inside sproot
# (guest ptrace and guest seccomp filters together). Addresses and pids
# differ from run to run: left out.
cp "$S" "$R/usr/local/bin/sproot"
for opt in "" --no-seccomp --engine=inproc; do
    ns=${opt:+ ($opt)}
    # (-ff: a file per process, so no call is split by another's line.)
    like_chroot "strace -f of a pipeline$ns" "$opt -b /proc" \
        "strace -f -ff -qq -e trace=execve,openat -e signal=none -o /tmp/s sh -c 'cat /etc/debian_version | wc -l' &&
         cat /tmp/s.* | sed -e 's/0x[0-9a-f]*/ADDR/g' | grep -v -e ld.so -e 'lib/' | sort; rm -f /tmp/s.*"
    like_chroot "gdb: a breakpoint, a backtrace, a variable$ns" "$opt -b /proc" \
        "gdb -batch -nx -ex 'break main' -ex run -ex bt -ex 'print argc' -ex continue /usr/local/bin/hello-g 2>&1 |
         grep -v -e '^\[' -e debuginfod -e libthread_db | sed -e 's/0x[0-9a-f]*/ADDR/g'"
    # shellcheck disable=SC2086
    check "gdb under sproot stops at the breakpoint$ns" "$(printf 'Breakpoint 1, main (argc=1, argv=ADDR) at tests/a64/hello.c:5\nexit 0')" \
        "$S" $opt -b /proc -r "$R" /bin/sh -c "gdb -batch -nx -ex 'break main' -ex run /usr/local/bin/hello-g 2>&1 |
            grep '^Breakpoint 1, ' | sed -e 's/0x[0-9a-f]*/ADDR/g'"
    # The inner sproot picks its engine (auto), whatever the suite's is.
    like_chroot "sproot inside sproot$ns" "$opt -b /proc" \
        "env -u SPROOT_ENGINE /usr/local/bin/sproot -r / -b /proc /bin/sh -c 'echo nested; readlink /proc/self/exe; ls /usr/local/bin/tracer'"
done
umount "$R/proc"

echo "== storms and event order (sorted and chaos order)"
threads=$((ROUNDS * 32)) forks=$((ROUNDS * 16))
storm() {  # storm NAME WANT SEED CMD...: output and the stats' key numbers
    name=$1 want=$2 seed=$3; shift 3
    rm -f /tmp/stats
    got=$(env ${seed:+SPROOT_CHAOS=$seed} "$S" --engine=ptrace --stats=/tmp/stats -r "$R" "$@" 2>&1; echo "exit $?")
    result "$name (chaos ${seed:-off})" "$want" "$got"
}
reordered=0
for seed in "" 1 2 3; do
    storm "$threads threads" "$(printf 'threads %s\nexit 0' $threads)" "$seed" /usr/local/bin/threads "$ROUNDS"
    clones=$(awk '$1 == "clone-fork-vfork" { print $2 }' /tmp/stats)
    result "every thread's clone event was seen" "$threads" "$clones"
    nb=$(awk '$1 == "newborn-before-parent" { print $2 }' /tmp/stats)
    [ -n "$seed" ] && reordered=$((reordered + ${nb:-0}))
    storm "$forks forks with execs" "$(printf 'forks %s\nexit 0' $forks)" "$seed" /usr/local/bin/forks "$ROUNDS"
    storm "background jobs and pipelines" "$(printf '1\n1\n1\n1\n1\n1\ndone\nexit 0')" "$seed" \
        /bin/sh -c 'for i in 1 2 3 4 5 6; do (cat /etc/debian_version | wc -l) & done; wait; echo done'
done
# Chaos order must really have exercised the out-of-order path.
result "chaos order handled newborn stops before their parent's event" yes \
    "$([ "$reordered" -gt 0 ] && echo yes || echo "no ($reordered)")"

[ -f /mnt/android-suite.sh ] && . /mnt/android-suite.sh
echo "== $pass passed, $fail failed"
[ "$fail" = 0 ]
