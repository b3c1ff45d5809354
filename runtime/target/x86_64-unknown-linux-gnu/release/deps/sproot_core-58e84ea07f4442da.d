/work/main/runtime/target/x86_64-unknown-linux-gnu/release/deps/sproot_core-58e84ea07f4442da.d: /work/main/core/src/lib.rs /work/main/core/src/backend.rs /work/main/core/src/cbpf.rs /work/main/core/src/decision.rs /work/main/core/src/errno.rs /work/main/core/src/exec/mod.rs /work/main/core/src/exec/elf.rs /work/main/core/src/ext/mod.rs /work/main/core/src/ext/fake_id.rs /work/main/core/src/ext/fake_xattr.rs /work/main/core/src/ext/kernel_release.rs /work/main/core/src/ext/link2symlink.rs /work/main/core/src/ext/net.rs /work/main/core/src/fs/mod.rs /work/main/core/src/fs/aliases.rs /work/main/core/src/fs/host.rs /work/main/core/src/fs/points.rs /work/main/core/src/fs/proc_files.rs /work/main/core/src/fs/procfs.rs /work/main/core/src/fs/resolve.rs /work/main/core/src/handler/mod.rs /work/main/core/src/handler/ctx.rs /work/main/core/src/handler/dispatch.rs /work/main/core/src/handler/exec.rs /work/main/core/src/handler/host.rs /work/main/core/src/handler/ids.rs /work/main/core/src/handler/link2symlink.rs /work/main/core/src/handler/listings.rs /work/main/core/src/handler/net.rs /work/main/core/src/handler/openat2.rs /work/main/core/src/handler/owners.rs /work/main/core/src/handler/paths.rs /work/main/core/src/handler/stat.rs /work/main/core/src/handler/xattr.rs /work/main/core/src/inproc.rs /work/main/core/src/namespace.rs /work/main/core/src/shared.rs /work/main/core/src/shared/mapped.rs /work/main/core/src/shebang.rs /work/main/core/src/sysno.rs /work/main/core/src/table.rs /work/main/core/src/userns.rs

/work/main/runtime/target/x86_64-unknown-linux-gnu/release/deps/libsproot_core-58e84ea07f4442da.rlib: /work/main/core/src/lib.rs /work/main/core/src/backend.rs /work/main/core/src/cbpf.rs /work/main/core/src/decision.rs /work/main/core/src/errno.rs /work/main/core/src/exec/mod.rs /work/main/core/src/exec/elf.rs /work/main/core/src/ext/mod.rs /work/main/core/src/ext/fake_id.rs /work/main/core/src/ext/fake_xattr.rs /work/main/core/src/ext/kernel_release.rs /work/main/core/src/ext/link2symlink.rs /work/main/core/src/ext/net.rs /work/main/core/src/fs/mod.rs /work/main/core/src/fs/aliases.rs /work/main/core/src/fs/host.rs /work/main/core/src/fs/points.rs /work/main/core/src/fs/proc_files.rs /work/main/core/src/fs/procfs.rs /work/main/core/src/fs/resolve.rs /work/main/core/src/handler/mod.rs /work/main/core/src/handler/ctx.rs /work/main/core/src/handler/dispatch.rs /work/main/core/src/handler/exec.rs /work/main/core/src/handler/host.rs /work/main/core/src/handler/ids.rs /work/main/core/src/handler/link2symlink.rs /work/main/core/src/handler/listings.rs /work/main/core/src/handler/net.rs /work/main/core/src/handler/openat2.rs /work/main/core/src/handler/owners.rs /work/main/core/src/handler/paths.rs /work/main/core/src/handler/stat.rs /work/main/core/src/handler/xattr.rs /work/main/core/src/inproc.rs /work/main/core/src/namespace.rs /work/main/core/src/shared.rs /work/main/core/src/shared/mapped.rs /work/main/core/src/shebang.rs /work/main/core/src/sysno.rs /work/main/core/src/table.rs /work/main/core/src/userns.rs

/work/main/runtime/target/x86_64-unknown-linux-gnu/release/deps/libsproot_core-58e84ea07f4442da.rmeta: /work/main/core/src/lib.rs /work/main/core/src/backend.rs /work/main/core/src/cbpf.rs /work/main/core/src/decision.rs /work/main/core/src/errno.rs /work/main/core/src/exec/mod.rs /work/main/core/src/exec/elf.rs /work/main/core/src/ext/mod.rs /work/main/core/src/ext/fake_id.rs /work/main/core/src/ext/fake_xattr.rs /work/main/core/src/ext/kernel_release.rs /work/main/core/src/ext/link2symlink.rs /work/main/core/src/ext/net.rs /work/main/core/src/fs/mod.rs /work/main/core/src/fs/aliases.rs /work/main/core/src/fs/host.rs /work/main/core/src/fs/points.rs /work/main/core/src/fs/proc_files.rs /work/main/core/src/fs/procfs.rs /work/main/core/src/fs/resolve.rs /work/main/core/src/handler/mod.rs /work/main/core/src/handler/ctx.rs /work/main/core/src/handler/dispatch.rs /work/main/core/src/handler/exec.rs /work/main/core/src/handler/host.rs /work/main/core/src/handler/ids.rs /work/main/core/src/handler/link2symlink.rs /work/main/core/src/handler/listings.rs /work/main/core/src/handler/net.rs /work/main/core/src/handler/openat2.rs /work/main/core/src/handler/owners.rs /work/main/core/src/handler/paths.rs /work/main/core/src/handler/stat.rs /work/main/core/src/handler/xattr.rs /work/main/core/src/inproc.rs /work/main/core/src/namespace.rs /work/main/core/src/shared.rs /work/main/core/src/shared/mapped.rs /work/main/core/src/shebang.rs /work/main/core/src/sysno.rs /work/main/core/src/table.rs /work/main/core/src/userns.rs

/work/main/core/src/lib.rs:
/work/main/core/src/backend.rs:
/work/main/core/src/cbpf.rs:
/work/main/core/src/decision.rs:
/work/main/core/src/errno.rs:
/work/main/core/src/exec/mod.rs:
/work/main/core/src/exec/elf.rs:
/work/main/core/src/ext/mod.rs:
/work/main/core/src/ext/fake_id.rs:
/work/main/core/src/ext/fake_xattr.rs:
/work/main/core/src/ext/kernel_release.rs:
/work/main/core/src/ext/link2symlink.rs:
/work/main/core/src/ext/net.rs:
/work/main/core/src/fs/mod.rs:
/work/main/core/src/fs/aliases.rs:
/work/main/core/src/fs/host.rs:
/work/main/core/src/fs/points.rs:
/work/main/core/src/fs/proc_files.rs:
/work/main/core/src/fs/procfs.rs:
/work/main/core/src/fs/resolve.rs:
/work/main/core/src/handler/mod.rs:
/work/main/core/src/handler/ctx.rs:
/work/main/core/src/handler/dispatch.rs:
/work/main/core/src/handler/exec.rs:
/work/main/core/src/handler/host.rs:
/work/main/core/src/handler/ids.rs:
/work/main/core/src/handler/link2symlink.rs:
/work/main/core/src/handler/listings.rs:
/work/main/core/src/handler/net.rs:
/work/main/core/src/handler/openat2.rs:
/work/main/core/src/handler/owners.rs:
/work/main/core/src/handler/paths.rs:
/work/main/core/src/handler/stat.rs:
/work/main/core/src/handler/xattr.rs:
/work/main/core/src/inproc.rs:
/work/main/core/src/namespace.rs:
/work/main/core/src/shared.rs:
/work/main/core/src/shared/mapped.rs:
/work/main/core/src/shebang.rs:
/work/main/core/src/sysno.rs:
/work/main/core/src/table.rs:
/work/main/core/src/userns.rs:
