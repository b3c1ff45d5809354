/work/main/runtime/target/x86_64-unknown-linux-gnu/release/deps/sproot_runtime-259c3d37b0c3c5cf.d: src/main.rs src/../../src/loader/map.rs src/../../src/loader/sys.rs src/exec.rs src/heap.rs src/host.rs src/nr.rs src/start.rs src/trap.rs

/work/main/runtime/target/x86_64-unknown-linux-gnu/release/deps/sproot_runtime-259c3d37b0c3c5cf: src/main.rs src/../../src/loader/map.rs src/../../src/loader/sys.rs src/exec.rs src/heap.rs src/host.rs src/nr.rs src/start.rs src/trap.rs

src/main.rs:
src/../../src/loader/map.rs:
src/../../src/loader/sys.rs:
src/exec.rs:
src/heap.rs:
src/host.rs:
src/nr.rs:
src/start.rs:
src/trap.rs:
