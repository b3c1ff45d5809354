#!/usr/bin/env python3
"""Generate the Android app seccomp policies (and the kernel masks) that
tests/android/sandbox.c installs, from bionic's own lists.

    tests/android/gen-policy.py BIONIC_GIT_DIR [OUT_DIR]

BIONIC_GIT_DIR is a git repository of bionic (a bare mirror is fine: files are
read with `git show REV:PATH`). OUT_DIR defaults to tests/android/policy next
to this script. Python 3 standard library and the `git` command only.

Written files, one allowed syscall per line ("name number"), after a header
of `#` comments:

    policy/<release>.<arch>.txt        release: 8.0 10 12 14 main
                                       arch:    x86_64 aarch64
    policy/kernel-masks.<arch>.txt     tests/android/kernel-masks.txt resolved
                                       to this arch's numbers

How bionic builds the app policy (read from libc/tools/genseccomp.py,
libc/tools/gensyscalls.py, libc/Android.bp and libc/seccomp/seccomp_policy.cpp
at each tag; this script re-implements the name selection, not the code):

* Input files. 8.0: SYSCALLS.TXT + SECCOMP_WHITELIST.TXT - SECCOMP_BLACKLIST.TXT
  (the list is hard-wired in genseccomp.py; one filter for every process
  zygote forks, installed in zygote itself). 10 and later: the `srcs` of the
  genrule that produces <arch>_app_policy.cpp in libc/Android.bp
  (libseccomp_policy_app_sources at 10 and 12, the filegroup
  seccomp_syscalls_sources_app from 14 on): SYSCALLS.TXT, the COMMON and APP
  allow lists (WHITELIST before 12, ALLOWLIST from 12), the COMMON and APP
  block lists (BLACKLIST/BLOCKLIST), and from 12 SECCOMP_PRIORITY.TXT, which
  only reorders the filter's tests and changes nothing in the set.
* A file is a block list when its name contains "blacklist" (10) or
  "blocklist" (12+); every other list file is an allow list.
* Per architecture, an entry counts when its arch column names the arch:
  "all"; a comma list of arch names; from 10 "lp32"/"lp64" (all 32-bit /
  all 64-bit arches; at 10 only as the whole column, from 12 also as an
  element of a comma list). The bionic arch names are arm64 and x86_64 (our
  aarch64 and x86_64).
* Names: the syscall name, i.e. the part after ':' in
  `func|aliases:syscall_name:socketcall_id(...)`, else the function name. Up
  to 14 every line starts with a return type; from main it has none.
* Set: (base - blocked) | allowed, where base is SYSCALLS.TXT. At 8.0 the
  removal is of whole SYSCALLS.TXT entries equal to a blacklist entry (same
  function, parameters and arches), which for these files is the same thing.
  An allow-listed name is allowed even if it is also blocked (never the case).
* Numbers: __NR_<name> of the arch's uapi unistd header. The numbers do not
  change between releases, so bionic's headers at HEAD are used for every
  release (libc/kernel/uapi/asm-x86/asm/unistd_64.h,
  libc/kernel/uapi/asm-arm64/asm/unistd_64.h).
* The filter (seccomp_policy.cpp): load arch; the primary arch (x86_64,
  aarch64) goes to the 64-bit table, the secondary arch (i386, arm) to the
  32-bit one, any other arch gets SECCOMP_RET_TRAP; load nr; a binary search
  over ranges of allowed numbers, RET_ALLOW on a hit, SECCOMP_RET_TRAP
  otherwise (the default action for every call outside the lists). On x86_64
  an x32 call (nr | 0x40000000) is above every range, so it is trapped too.
  The 32-bit tables are not generated here: the sandbox runs 64-bit programs
  and traps every other arch.

The setuid/setgid range filter (install_setuidgid_seccomp_filter, bionic 10
and later) allows everything except setresuid and setresgid (the primary
and the secondary arch's numbers) whose low 32 bits of any of the three ids
fall outside [min, max], which get SECCOMP_RET_TRAP; -1 ("unchanged") is
outside the range too, so it is trapped. The other set*id calls are not
checked by it: for apps, the app policy already traps setuid, setgid,
setreuid, setregid, setfsuid, setfsgid, setgroups and setresgid (the
app-zygote variant of the policy leaves setresgid allowed). Zygote installs
it only in an *app zygote* (ChildZygoteInit, for apps with a zygote preload
class, uid range at or above 90000, isolated processes) before it starts
forking; ordinary apps never get it. So, per release, for ordinary apps:

    8.0   no set*id range filter (the function does not exist yet)
    10    none for ordinary apps (app zygotes only)
    12    none for ordinary apps (app zygotes only)
    14    none for ordinary apps (app zygotes only)
    main  none for ordinary apps (app zygotes only)

The policy headers repeat this. Zygote installs the app filter while the
process still has CAP_SYS_ADMIN, after setresgid and before setresuid, and
does not set no_new_privs for ordinary apps (the app-zygote path does).
"""

import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

# (our release name, git revision)
RELEASES = [
    ("8.0", "android-8.0.0_r1"),
    ("10", "android-10.0.0_r1"),
    ("12", "android-12.0.0_r1"),
    ("14", "android-14.0.0_r1"),
    ("main", "HEAD"),
]

# our arch name -> (bionic arch name, unistd header at HEAD, kernel-masks key)
ARCHES = {
    "x86_64": ("x86_64", "libc/kernel/uapi/asm-x86/asm/unistd_64.h"),
    "aarch64": ("arm64", "libc/kernel/uapi/asm-arm64/asm/unistd_64.h"),
}

# Syscalls newer than bionic's headers at HEAD (which end at mseal, 462).
# From the kernel's syscall tables (arch/x86/entry/syscalls/syscall_64.tbl,
# scripts/syscall.tbl); since 5.1 every arch gives a new syscall the same
# number, 424 and up.
EXTRA_NUMBERS = {
    "x86_64": {
        "uretprobe": 335,
        "setxattrat": 463, "getxattrat": 464, "listxattrat": 465,
        "removexattrat": 466, "open_tree_attr": 467,
        "file_getattr": 468, "file_setattr": 469,
    },
    "aarch64": {
        "setxattrat": 463, "getxattrat": 464, "listxattrat": 465,
        "removexattrat": 466, "open_tree_attr": 467,
        "file_getattr": 468, "file_setattr": 469,
    },
}

SETID_RULE = {
    "8.0": "none: bionic 8.0 has no set*id range filter",
    "10": "none for ordinary apps; app zygotes only (install_setuidgid_seccomp_filter)",
    "12": "none for ordinary apps; app zygotes only (install_setuidgid_seccomp_filter)",
    "14": "none for ordinary apps; app zygotes only (install_setuidgid_seccomp_filter)",
    "main": "none for ordinary apps; app zygotes only (install_setuidgid_seccomp_filter)",
}


def die(msg):
    sys.stderr.write("gen-policy: %s\n" % msg)
    sys.exit(1)


class Repo:
    def __init__(self, path):
        self.path = path

    def git(self, *args):
        r = subprocess.run(["git", "-C", self.path] + list(args),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if r.returncode != 0:
            die("git %s: %s" % (" ".join(args), r.stderr.decode().strip()))
        return r.stdout.decode("utf-8", "replace")

    def show(self, rev, path):
        return self.git("show", "%s:%s" % (rev, path))

    def exists(self, rev, path):
        r = subprocess.run(["git", "-C", self.path, "cat-file", "-e",
                            "%s:%s" % (rev, path)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return r.returncode == 0

    def commit(self, rev):
        return self.git("rev-parse", rev + "^{commit}").strip()


# ---------------------------------------------------------------------------
# The SYSCALLS.TXT dialect of a revision, read from its gensyscalls.py.
# ---------------------------------------------------------------------------

class Dialect:
    """How the gensyscalls.py of one revision reads a syscall list line."""

    def __init__(self, source):
        m = re.search(r'^(?:all_arches|SupportedArchitectures)\s*=\s*\[([^\]]*)\]',
                      source, re.M)
        if not m:
            die("gensyscalls.py: architecture list not found")
        self.arches = re.findall(r'"([^"]+)"', m.group(1))
        self.return_type = "missing return type" in source
        if re.search(r'if arch == "lp32"', source):
            self.lp = "element"    # lp32/lp64 anywhere in a comma list
        elif re.search(r'arch_list == "lp32"', source):
            self.lp = "whole"      # lp32/lp64 only as the whole column
        else:
            self.lp = "none"
        # From 14 a rejected line stops the build; before, it was skipped.
        self.fatal_errors = "self.errors = True" in source

    def describe(self):
        return "arches %s; return type %s; lp32/lp64 %s" % (
            ",".join(self.arches), "yes" if self.return_type else "no", self.lp)


def parse_list(text, dialect, what):
    """Entries of a SYSCALLS.TXT-style file: dicts with name, key (the
    whole entry, for 8.0's equality) and arches (a set)."""
    entries = []
    dropped = []
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        lp = line.find("(")
        rp = line.rfind(")")
        if lp < 0 or rp < 0 or rp <= lp:
            dropped.append((lineno, line, "parentheses"))
            continue
        head = line[:lp]
        if dialect.return_type:
            words = head.strip().split()
            if len(words) < 2:
                dropped.append((lineno, line, "no return type"))
                continue
            ret = " ".join(words[:-1])
            func = words[-1]
        else:
            ret = ""
            func = head
        socketcall = -1
        colon = func.find(":")
        if colon < 0:
            name = func
        else:
            colon2 = func.find(":", colon + 1)
            if colon2 < 0:
                name = func[colon + 1:]
            else:
                name = func[colon + 1:colon2]
                socketcall = int(func[colon2 + 1:])
            func = func[:colon]
        bar = func.find("|")
        aliases = ()
        if bar > 0:
            aliases = tuple(func[bar + 1:].strip().split(","))
            func = func[:bar]
            nbar = name.find("|")
            if nbar > 0:
                name = name[:nbar]
        params = tuple(line[lp + 1:rp].split(",")) if rp > lp + 1 else ()
        column = line[rp + 1:].strip()
        arches = set()
        bad = None
        if column == "all":
            arches = set(dialect.arches)
        elif dialect.lp == "whole" and column in ("lp32", "lp64"):
            arches = {a for a in dialect.arches
                      if ("64" in a) == (column == "lp64")}
        else:
            for a in column.split(","):
                if dialect.lp == "element" and a in ("lp32", "lp64"):
                    arches |= {x for x in dialect.arches
                               if ("64" in x) == (a == "lp64")}
                elif a in dialect.arches:
                    arches.add(a)
                else:
                    bad = a
                    break
        if bad is not None:
            dropped.append((lineno, line, "unknown arch %r" % bad))
            continue
        entries.append({
            "name": name,
            "key": (ret, func, aliases, params, socketcall, frozenset(arches)),
            "arches": arches,
        })
    if dropped:
        msg = "".join("  %s:%d: %s (%s)\n" % (what, n, l, why)
                      for n, l, why in dropped)
        if dialect.fatal_errors:
            die("lines this revision's gensyscalls.py rejects:\n" + msg)
        # The old parsers print such a line and go on without it.
        sys.stderr.write("gen-policy: note: lines the parser skips:\n" + msg)
    return entries


# ---------------------------------------------------------------------------
# Which files make the app policy at a revision
# ---------------------------------------------------------------------------

def app_policy_files(repo, rev):
    """(base file, [list files]) of the app policy, as the build passes them."""
    gen = repo.show(rev, "libc/tools/genseccomp.py")
    m = re.search(r"ANDROID_SYSCALL_FILES\s*=\s*\[([^\]]*)\]", gen)
    if m:  # 8.0: one policy, the list is in the script
        files = re.findall(r'"([^"]+)"', m.group(1))
        return files[0], files[1:]
    bp = repo.show(rev, "libc/Android.bp")
    for module in ("seccomp_syscalls_sources_app", "libseccomp_policy_app_sources"):
        m = re.search(r'name:\s*"%s",(.*?)\n}' % module, bp, re.S)
        if not m:
            continue
        srcs = re.search(r"srcs:\s*\[(.*?)\]", m.group(1), re.S)
        files = [f for f in re.findall(r'"([^"]+)"', srcs.group(1))
                 if f.upper().endswith(".TXT")]
        if files:
            return files[0], files[1:]
    die("%s: app policy sources not found in libc/Android.bp" % rev)


def block_word(repo, rev):
    gen = repo.show(rev, "libc/tools/genseccomp.py")
    m = re.search(r'if "(blacklist|blocklist)" in f\.lower\(\)', gen)
    return m.group(1) if m else None


def allowed_names(repo, rev, arch):
    """The names bionic's app policy at `rev` allows for bionic arch `arch`,
    and a description of the inputs."""
    dialect = Dialect(repo.show(rev, "libc/tools/gensyscalls.py"))
    base_file, files = app_policy_files(repo, rev)

    def load(f):
        return parse_list(repo.show(rev, "libc/" + f), dialect, f)

    base = load(base_file)
    word = block_word(repo, rev)
    if word is None:
        # 8.0: [SYSCALLS, WHITELIST, BLACKLIST]; whole-entry removal.
        allow, block = load(files[0]), load(files[1])
        block_keys = {e["key"] for e in block}
        missing = [e["name"] for e in block
                   if e["key"] not in {b["key"] for b in base}]
        if missing:
            die("%s: blacklist entries not in SYSCALLS.TXT: %s" % (rev, missing))
        kept = [e for e in base if e["key"] not in block_keys] + allow
        names = [e["name"] for e in kept if arch in e["arches"]]
        dups = sorted({n for n in names if names.count(n) > 1})
        if dups:
            die("%s/%s: duplicate names %s" % (rev, arch, dups))
        how = "%s + %s - %s (whole entries)" % (base_file, files[0], files[1])
        return set(names), how, dialect
    allow, block = set(), set()
    for f in files:
        if f.upper().endswith("PRIORITY.TXT"):
            continue  # ordering only (12+)
        names = {e["name"] for e in load(f) if arch in e["arches"]}
        if word in f.lower():
            block |= names
        else:
            allow |= names
    base_names = {e["name"] for e in base if arch in e["arches"]}
    if block - base_names:
        die("%s/%s: blocked names not in %s: %s" % (
            rev, arch, base_file, sorted(block - base_names)))
    how = "%s + (%s) - (%s)" % (
        base_file,
        " + ".join(f for f in files if word not in f.lower() and not f.upper().endswith("PRIORITY.TXT")),
        " + ".join(f for f in files if word in f.lower()))
    return (base_names - block) | allow, how, dialect


# ---------------------------------------------------------------------------
# Numbers
# ---------------------------------------------------------------------------

def syscall_numbers(repo, header):
    nrs = {}
    for line in repo.show("HEAD", header).splitlines():
        m = re.match(r"\s*#define\s+__NR_(\w+)\s+(\d+)\s*$", line)
        if m:
            nrs[m.group(1)] = int(m.group(2))
    if len(nrs) < 250:
        die("%s: only %d syscall numbers found (header layout changed?)" % (header, len(nrs)))
    return nrs


# ---------------------------------------------------------------------------
# Checking against a policy bionic generated itself (8.0 has them in git)
# ---------------------------------------------------------------------------

def allowed_by_checked_in_filter(text, limit=1024):
    """Run the BPF of a generated <arch>_policy.cpp for nr in [0, limit):
    the numbers that reach its RET_ALLOW."""
    prog = []
    for line in text.splitlines():
        line = line.strip()
        m = re.match(r"BPF_JUMP\(BPF_JMP\|BPF_JGE\|BPF_K,\s*(\d+),\s*(\d+),\s*(\d+)\)", line)
        if m:
            prog.append(("jge",) + tuple(int(x) for x in m.groups()))
        elif line.startswith("BPF_STMT(BPF_RET|BPF_K, SECCOMP_RET_ALLOW)"):
            prog.append(("allow",))
    allowed = set()
    for nr in range(limit):
        pc = 0
        while pc < len(prog):
            ins = prog[pc]
            if ins[0] == "allow":
                allowed.add(nr)
                break
            pc += 1 + (ins[2] if nr >= ins[1] else ins[3])
    return allowed


# ---------------------------------------------------------------------------
# Kernel masks
# ---------------------------------------------------------------------------

def version(v):
    return tuple(int(x) for x in v.split("."))


def read_masks(path):
    kernels, syscalls, rules = [], [], []
    with open(path) as f:
        for n, raw in enumerate(f, 1):
            line = raw.split("#", 1)[0].split()
            if not line:
                continue
            kind = line[0]
            if kind == "kernel" and len(line) == 2:
                kernels.append(line[1])
            elif kind == "syscall" and len(line) in (3, 4):
                syscalls.append((line[1], line[2], line[3] if len(line) == 4 else None))
            elif kind in ("ptrace-request", "seccomp-flag", "seccomp-op",
                          "waitid-idtype") and len(line) == 4:
                rules.append((kind, int(line[1], 0), line[2], line[3]))
            else:
                die("%s:%d: cannot read %r" % (path, n, raw.rstrip()))
    return kernels, syscalls, rules


def mask_lines(kernels, syscalls, rules, arch, nrs):
    """Lines of policy/kernel-masks.<arch>.txt."""
    since = {}
    for name, ver, only in syscalls:
        if only is not None and only != arch:
            continue
        since[name] = version(ver)
    unknown = sorted(set(since) - set(nrs))
    if unknown:
        die("kernel-masks.txt: no %s number for %s" % (arch, unknown))
    out = []
    for k in kernels:
        kv = version(k)
        present = [nr for name, nr in nrs.items() if since.get(name, (0,)) <= kv]
        limit = max(present) + 1
        out.append("%s enosys-from %d" % (k, limit))
        for name, nr in sorted(nrs.items(), key=lambda x: x[1]):
            if name in since and since[name] > kv and nr < limit:
                out.append("%s enosys %d %s" % (k, nr, name))
        flags = 0
        for kind, value, ver, name in rules:
            if version(ver) <= kv:
                continue
            if kind == "ptrace-request":
                out.append("%s ptrace-eio 0x%x %s" % (k, value, name))
            elif kind == "seccomp-flag":
                flags |= value
            elif kind == "seccomp-op":
                out.append("%s seccomp-op-einval %d %s" % (k, value, name))
            elif kind == "waitid-idtype":
                out.append("%s waitid-einval %d %s" % (k, value, name))
        if flags:
            out.append("%s seccomp-flags-einval 0x%x" % (k, flags))
    return out


# ---------------------------------------------------------------------------

def main():
    if len(sys.argv) not in (2, 3):
        sys.stderr.write(__doc__.split("\n\n")[1] + "\n")
        sys.exit(2)
    repo = Repo(sys.argv[1])
    out_dir = sys.argv[2] if len(sys.argv) == 3 else os.path.join(HERE, "policy")
    os.makedirs(out_dir, exist_ok=True)
    head = repo.commit("HEAD")

    numbers = {}
    for arch, (barch, header) in ARCHES.items():
        nrs = syscall_numbers(repo, header)
        for name, nr in EXTRA_NUMBERS[arch].items():
            if nrs.get(name, nr) != nr:
                die("%s: %s is %d in bionic, %d here" % (arch, name, nrs[name], nr))
            nrs.setdefault(name, nr)
        numbers[arch] = nrs

    summary = []
    for release, rev in RELEASES:
        commit = repo.commit(rev)
        for arch, (barch, header) in ARCHES.items():
            names, how, dialect = allowed_names(repo, rev, barch)
            missing = sorted(n for n in names if n not in numbers[arch])
            if missing:
                die("%s/%s: no number for %s" % (release, arch, missing))
            rows = sorted(((numbers[arch][n], n) for n in names))
            checked = ""
            cpp = "libc/seccomp/%s_policy.cpp" % barch
            if repo.exists(rev, cpp):
                theirs = allowed_by_checked_in_filter(repo.show(rev, cpp))
                ours = {nr for nr, _ in rows}
                if theirs != ours:
                    die("%s/%s: differs from bionic's own %s: only theirs %s, only ours %s" % (
                        release, arch, cpp, sorted(theirs - ours), sorted(ours - theirs)))
                checked = "# Checked: the same set as bionic's generated %s at this tag.\n" % cpp
            rev_name = rev if rev != "HEAD" else "HEAD (main)"
            text = (
                "# Android %s app seccomp policy, %s (bionic arch %s): the syscalls it allows.\n"
                "# Everything else gets SECCOMP_RET_TRAP (SIGSYS); so does any other arch%s.\n"
                "# Source: aosp-mirror/platform_bionic %s, commit %s\n"
                "# Built as genseccomp.py builds the app policy: %s\n"
                "# SYSCALLS.TXT dialect: %s\n"
                "# Numbers: bionic HEAD %s (commit %s)\n"
                "# set*id range filter for ordinary apps: %s\n"
                "%s"
                "# Generated by tests/android/gen-policy.py; do not edit.\n"
                "# name number\n"
            ) % (release, arch, barch,
                 " and x32 (nr >= 0x40000000)" if arch == "x86_64" else "",
                 rev_name, commit, how, dialect.describe(), header, head,
                 SETID_RULE[release], checked)
            text += "".join("%s %d\n" % (n, nr) for nr, n in rows)
            path = os.path.join(out_dir, "%s.%s.txt" % (release, arch))
            with open(path, "w") as f:
                f.write(text)
            summary.append("%-5s %-8s %3d allowed%s" % (
                release, arch, len(rows), " (matches bionic's checked-in filter)" if checked else ""))

    masks_src = os.path.join(HERE, "kernel-masks.txt")
    kernels, syscalls, rules = read_masks(masks_src)
    for arch in ARCHES:
        lines = mask_lines(kernels, syscalls, rules, arch, numbers[arch])
        path = os.path.join(out_dir, "kernel-masks.%s.txt" % arch)
        with open(path, "w") as f:
            f.write(
                "# Kernel masks for %s, resolved from tests/android/kernel-masks.txt by\n"
                "# tests/android/gen-policy.py (numbers: bionic HEAD %s, commit %s,\n"
                "# plus the newer ones listed in the script); do not edit.\n"
                "# KERNEL enosys-from NR         every nr >= NR gets ENOSYS\n"
                "# KERNEL enosys NR NAME         ENOSYS\n"
                "# KERNEL ptrace-eio REQ NAME    ptrace(REQ, ...) gets EIO\n"
                "# KERNEL seccomp-op-einval OP   seccomp(OP, ...) gets EINVAL\n"
                "# KERNEL seccomp-flags-einval M seccomp(SECCOMP_SET_MODE_FILTER, flags & M != 0) gets EINVAL\n"
                "# KERNEL waitid-einval IDTYPE   waitid(IDTYPE, ...) gets EINVAL\n"
                % (arch, ARCHES[arch][1], head))
            f.write("".join(l + "\n" for l in lines))
        summary.append("masks %-8s %s" % (arch, ", ".join(
            "%s: %d rules" % (k, sum(1 for l in lines if l.startswith(k + " "))) for k in kernels)))
    print("\n".join(summary))


if __name__ == "__main__":
    main()
