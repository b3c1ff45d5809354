/work/main/runtime/target/x86_64-unknown-linux-gnu/release/deps/equivalent-ec131df26ba13c6b.d: /root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/equivalent-1.0.3/src/lib.rs

/work/main/runtime/target/x86_64-unknown-linux-gnu/release/deps/libequivalent-ec131df26ba13c6b.rlib: /root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/equivalent-1.0.3/src/lib.rs

/work/main/runtime/target/x86_64-unknown-linux-gnu/release/deps/libequivalent-ec131df26ba13c6b.rmeta: /root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/equivalent-1.0.3/src/lib.rs

/root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/equivalent-1.0.3/src/lib.rs:
