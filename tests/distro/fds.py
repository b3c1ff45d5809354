# Probe fds 0..255 with os.fstat, as programs that look for open fds do,
# then run children with close_fds/pass_fds and redirected fds. Prints what
# a real system prints; run natively and under sproot -0, compare.
import errno, os, subprocess, sys

def probe():
    open_fds, errs = [], set()
    for fd in range(256):
        try:
            os.fstat(fd)
            open_fds.append(fd)
        except OSError as e:
            errs.add(errno.errorcode[e.errno])
    return open_fds, sorted(errs)

base, errs = probe()
print("errors:", errs)
f = open("/etc/hostname", "rb")
r, w = os.pipe()
extra_r, extra_w = os.pipe()
opened, _ = probe()
print("new fds:", sorted(set(opened) - set(base)) == sorted([f.fileno(), r, w, extra_r, extra_w]))
for bad in (extra_w + 100, 255, -1):
    for call in (os.fstat, lambda fd: os.fdopen(fd, "rb"), lambda fd: open(fd, "rb", closefd=False)):
        try:
            call(bad)
            print(bad > 0, "ok")
        except (OSError, ValueError) as e:
            print(bad > 0, type(e).__name__, errno.errorcode.get(getattr(e, "errno", 0) or 0, "-"))
# close_fds: the write end of r is inheritable but must be closed in the
# child, or cat never sees the end of its input and the run hangs.
os.set_inheritable(w, True)
child = subprocess.Popen(["cat"], stdin=r, stdout=subprocess.PIPE, close_fds=True)
os.close(r)
os.write(w, b"through the pipe\n")
os.close(w)
out, _ = child.communicate(timeout=20)
print("cat:", out.decode().strip(), child.returncode)
# pass_fds: the child writes to a descriptor it was given.
res = subprocess.run(["sh", "-c", f"echo passed >&{extra_w}; ls /proc/self/fd | wc -l"],
                     pass_fds=(extra_w,), close_fds=True, capture_output=True, timeout=20)
os.close(extra_w)
print("pass_fds:", os.read(extra_r, 100).decode().strip(), res.returncode, res.stdout.decode().split())
# Redirected standard fds.
res = subprocess.run(["sh", "-c", "echo to-stderr >&2; cat"], input=b"in", stdout=subprocess.PIPE,
                     stderr=subprocess.STDOUT, timeout=20)
print("redirect:", res.stdout.decode().split())
print("after:", sorted(set(probe()[0]) - set(base)) == sorted([f.fileno(), extra_r]))
