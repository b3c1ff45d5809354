//! Inputs the workloads need, made once and cached inside the rootfs under
//! /opt/sproot-bench/ (one stamp file per fixture, holding its version: bump
//! a version to have it rebuilt). Tools run natively (chroot), generated files
//! are written from the host.

use crate::env::Env;
use crate::modes::{Engine, all_modes};
use anyhow::{Context, Result, bail};
use std::fs;
use std::path::{Path, PathBuf};

pub const GUEST_DIR: &str = "/opt/sproot-bench";
pub const C_FILES: usize = 21;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Fixture {
    Tarball,
    CSources,
    CPrograms,
    NodeTree,
    NpmProject,
    Wheels,
    NodeWorkers,
}

impl Fixture {
    fn name(self) -> &'static str {
        match self {
            Fixture::Tarball => "tarball",
            Fixture::CSources => "csrc",
            Fixture::CPrograms => "c-programs",
            Fixture::NodeTree => "node-tree",
            Fixture::NpmProject => "npm-project",
            Fixture::Wheels => "wheels",
            Fixture::NodeWorkers => "node-workers",
        }
    }
    fn version(self) -> u32 {
        match self {
            Fixture::Tarball => 2,
            Fixture::CSources => 1,
            Fixture::CPrograms => 1,
            Fixture::NodeTree => 2,
            Fixture::NpmProject => 1,
            Fixture::Wheels => 1,
            Fixture::NodeWorkers => 1,
        }
    }
}

fn stamp_path(env: &Env, f: Fixture) -> PathBuf {
    env.host(GUEST_DIR).join(format!(".stamp-{}", f.name()))
}

fn stamp_text(f: Fixture) -> String {
    format!("{} v{}\n", f.name(), f.version())
}

fn is_ready(env: &Env, f: Fixture) -> bool {
    let stamped = fs::read_to_string(stamp_path(env, f))
        .map(|s| s == stamp_text(f))
        .unwrap_or(false);
    stamped
        && match f {
            // npm ci --offline needs the guest's npm cache as well.
            Fixture::NpmProject => env.host("/root/.npm/_cacache").is_dir(),
            _ => true,
        }
}

/// Make every fixture in `needed` that is not ready yet.
pub fn prepare(env: &Env, needed: &[Fixture]) -> Result<()> {
    fs::create_dir_all(env.host(GUEST_DIR))?;
    for &f in needed {
        if is_ready(env, f) {
            continue;
        }
        eprintln!(
            "bench: preparing fixture {} in {GUEST_DIR} (once) ...",
            f.name()
        );
        let t = std::time::Instant::now();
        let _ = fs::remove_file(stamp_path(env, f));
        match f {
            Fixture::Tarball => make_tarball(env),
            Fixture::CSources => make_c_sources(env),
            Fixture::CPrograms => make_c_programs(env),
            Fixture::NodeTree => make_node_tree(env),
            Fixture::NpmProject => make_npm_project(env),
            Fixture::Wheels => make_wheels(env),
            Fixture::NodeWorkers => make_node_workers(env),
        }
        .with_context(|| format!("preparing fixture {}", f.name()))?;
        fs::write(stamp_path(env, f), stamp_text(f))?;
        eprintln!(
            "bench: fixture {} ready ({:.1} s)",
            f.name(),
            t.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

/// Run a shell script natively in the rootfs (chroot), return its stdout.
pub fn native_sh(env: &Env, script: &str, extra_env: &[(&str, &str)]) -> Result<String> {
    let native = all_modes()
        .into_iter()
        .find(|m| m.engine == Engine::Native)
        .unwrap();
    let wenv: Vec<(String, String)> = extra_env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let argv = vec![
        "/bin/sh".to_string(),
        "-c".to_string(),
        format!("set -e\n{script}"),
    ];
    let out = native
        .command(env, &argv, &wenv, None)
        .stdin(std::process::Stdio::null())
        .output()
        .context("spawning a native chroot run")?;
    if !out.status.success() {
        bail!(
            "native run failed ({}): {script}\n--- stderr ---\n{}--- stdout ---\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn fresh_dir(p: &Path) -> Result<()> {
    if p.exists() {
        fs::remove_dir_all(p).with_context(|| format!("removing {}", p.display()))?;
    }
    fs::create_dir_all(p).with_context(|| format!("creating {}", p.display()))?;
    Ok(())
}

// ---------------------------------------------------------------------------
// tarball: an 18 MB tar of many small files from /usr/lib/python3 and /usr/share.

const TAR_BYTES: u64 = 18 * 1000 * 1000;
const TAR_MAX_FILE: u64 = 16 * 1024;
const TAR_SOURCES: &[&str] = &[
    "usr/lib/python3",
    "usr/share/doc",
    "usr/share/perl",
    "usr/share/nodejs",
];

fn make_tarball(env: &Env) -> Result<()> {
    // Regular files of at most 16 KiB, in sorted walk order, until the
    // archive (512-byte header + data rounded up to 512 per file) is 18 MB.
    fn walk(dir: &Path, rel: &str, list: &mut Vec<String>, total: &mut u64) -> Result<()> {
        let mut entries: Vec<_> = fs::read_dir(dir)?.collect::<std::io::Result<_>>()?;
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            if *total >= TAR_BYTES {
                return Ok(());
            }
            let name = e.file_name().to_string_lossy().into_owned();
            if name.contains('\n') {
                continue;
            }
            let rel = format!("{rel}/{name}");
            let ft = e.file_type()?;
            if ft.is_dir() {
                walk(&e.path(), &rel, list, total)?;
            } else if ft.is_file() {
                let len = e.metadata()?.len();
                if len <= TAR_MAX_FILE {
                    *total += 512 + len.div_ceil(512) * 512;
                    list.push(rel);
                }
            }
        }
        Ok(())
    }
    let mut list = vec![];
    let mut total = 0;
    for src in TAR_SOURCES {
        if total >= TAR_BYTES {
            break;
        }
        let p = env.rootfs.join(src);
        if p.is_dir() {
            walk(&p, src, &mut list, &mut total)?;
        }
    }
    if total < TAR_BYTES / 2 {
        bail!("found only {total} bytes of small files under {TAR_SOURCES:?} in the rootfs");
    }
    let dir = env.host(GUEST_DIR);
    fs::write(dir.join("tree.list"), list.join("\n") + "\n")?;
    native_sh(
        env,
        &format!(
            "tar -cf {GUEST_DIR}/tree.tar.tmp -C / -T {GUEST_DIR}/tree.list && mv {GUEST_DIR}/tree.tar.tmp {GUEST_DIR}/tree.tar"
        ),
        &[],
    )?;
    let size = fs::metadata(dir.join("tree.tar"))?.len();
    eprintln!(
        "bench:   tree.tar: {} files, {:.1} MB",
        list.len(),
        size as f64 / 1e6
    );
    Ok(())
}

// ---------------------------------------------------------------------------
// csrc: 21 small C files for `gcc -O1 -c`.

const C_UNIT: &str = r#"/* sproot benchmark: compile unit @I@ (generated). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <ctype.h>

struct rec@I@ {
    int key;
    double weight;
    char name[32];
    struct rec@I@ *next;
};

static int cmp@I@(const void *a, const void *b)
{
    const struct rec@I@ *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return strcmp(x->name, y->name);
}

uint64_t hash@I@(const char *s)
{
    uint64_t h = 1469598103934665603ULL ^ @K@;
    while (*s) {
        h ^= (unsigned char)*s++;
        h *= 1099511628211ULL;
    }
    return h;
}

struct rec@I@ *make@I@(size_t n)
{
    struct rec@I@ *r = calloc(n, sizeof *r);
    if (!r)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        r[i].key = (int)((i * @K@ + 7) % 1009);
        r[i].weight = (double)i / (double)(n + @K@);
        snprintf(r[i].name, sizeof r[i].name, "item-%zu-@I@", i);
        r[i].next = i + 1 < n ? &r[i + 1] : NULL;
    }
    qsort(r, n, sizeof *r, cmp@I@);
    return r;
}

double mean@I@(const struct rec@I@ *r, size_t n)
{
    double sum = 0, c = 0;
    for (size_t i = 0; i < n; i++) {
        double y = r[i].weight - c;
        double t = sum + y;
        c = (t - sum) - y;
        sum = t;
    }
    return n ? sum / (double)n : 0.0;
}

size_t words@I@(const char *text, char out[][32], size_t max)
{
    size_t n = 0;
    while (*text && n < max) {
        while (*text && !isalnum((unsigned char)*text))
            text++;
        size_t len = 0;
        while (*text && isalnum((unsigned char)*text)) {
            if (len + 1 < 32)
                out[n][len++] = (char)tolower((unsigned char)*text);
            text++;
        }
        if (len) {
            out[n][len] = 0;
            n++;
        }
    }
    return n;
}

int classify@I@(int v)
{
    switch ((v + @K@) % 8) {
    case 0: return v * 3 + 1;
    case 1: return v / 2;
    case 2: return v ^ @K@;
    case 3: return v << 2;
    case 4: return -v;
    case 5: return v % 17;
    case 6: return v + @N@;
    default: return 0;
    }
}

int run@I@(int argc, char **argv)
{
    size_t n = (size_t)(argc > 1 ? atoi(argv[1]) : 100);
    struct rec@I@ *r = make@I@(n);
    if (!r)
        return 1;
    char w[64][32];
    size_t nw = words@I@("The quick brown fox @I@ jumps over the lazy dog", w, 64);
    int acc = 0;
    for (size_t i = 0; i < nw; i++)
        acc += classify@I@((int)hash@I@(w[i]));
    printf("%d %f %s\n", acc, mean@I@(r, n), n ? r[0].name : "");
    free(r);
    return 0;
}
"#;

fn make_c_sources(env: &Env) -> Result<()> {
    let dir = env.host(&format!("{GUEST_DIR}/csrc"));
    fresh_dir(&dir)?;
    for i in 0..C_FILES {
        let text = C_UNIT
            .replace("@I@", &format!("{i:02}"))
            .replace("@K@", &(i * 7 + 3).to_string())
            .replace("@N@", &i.to_string());
        fs::write(dir.join(format!("unit{i:02}.c")), text)?;
    }
    // Check that they compile.
    let out = native_sh(
        env,
        &format!(
            "d=$(mktemp -d) && cd $d && gcc -O1 -c {GUEST_DIR}/csrc/*.c && ls | wc -l && rm -rf $d"
        ),
        &[],
    )?;
    if out.trim() != C_FILES.to_string() {
        bail!("expected {C_FILES} objects, got {out:?}");
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// c-programs: the stat storm and the thread storm.

const STAT_STORM_C: &str = r#"/* sproot benchmark: 200k stat() calls over a few paths (generated). */
#include <stdio.h>
#include <sys/stat.h>

int main(void)
{
    static const char *const paths[] = {
        "/etc/passwd",
        "/bin/sh",
        "/usr/lib/x86_64-linux-gnu/libc.so.6",
        "/usr/include/x86_64-linux-gnu/sys/stat.h",
    };
    const long n = 200000;
    long ok = 0;
    for (long i = 0; i < n; i++) {
        struct stat st;
        if (stat(paths[i % 4], &st) == 0)
            ok++;
    }
    printf("%ld of %ld stat calls succeeded\n", ok, n);
    return ok == n ? 0 : 1;
}
"#;

const THREAD_STORM_C: &str = r#"/* sproot benchmark: 64 threads at once, joined, 100 rounds (generated). */
#include <pthread.h>
#include <stdio.h>
#include <sys/stat.h>

#define THREADS 64
#define ROUNDS 100

static void *worker(void *arg)
{
    struct stat st;
    (void)arg;
    return (void *)(long)(stat("/etc/passwd", &st) == 0);
}

int main(void)
{
    long ok = 0, created = 0;
    for (int r = 0; r < ROUNDS; r++) {
        pthread_t t[THREADS];
        int n = 0;
        for (; n < THREADS; n++)
            if (pthread_create(&t[n], NULL, worker, NULL) != 0)
                break;
        created += n;
        for (int i = 0; i < n; i++) {
            void *ret;
            pthread_join(t[i], &ret);
            ok += (long)ret;
        }
    }
    printf("%ld threads created, %ld stat calls succeeded\n", created, ok);
    return ok == (long)THREADS * ROUNDS ? 0 : 1;
}
"#;

fn make_c_programs(env: &Env) -> Result<()> {
    let src = env.host(&format!("{GUEST_DIR}/c-programs"));
    fresh_dir(&src)?;
    fs::create_dir_all(env.host(&format!("{GUEST_DIR}/bin")))?;
    fs::write(src.join("stat-storm.c"), STAT_STORM_C)?;
    fs::write(src.join("thread-storm.c"), THREAD_STORM_C)?;
    native_sh(
        env,
        &format!(
            "cd {GUEST_DIR}/c-programs\n\
             gcc -O2 -o {GUEST_DIR}/bin/stat-storm stat-storm.c\n\
             gcc -O2 -pthread -o {GUEST_DIR}/bin/thread-storm thread-storm.c\n\
             {GUEST_DIR}/bin/stat-storm\n\
             {GUEST_DIR}/bin/thread-storm"
        ),
        &[],
    )?;
    Ok(())
}

// ---------------------------------------------------------------------------
// node-tree: 100 packages x 30 modules under node_modules, one entry file.

const NODE_PKGS: usize = 100;
/// Per package: lib/index.js, lib/m01.js..lib/m25.js, and lib/sub/mNN.js for
/// NN = 05, 10, 15, 20: 30 modules.
const NODE_TOP_FILES: usize = 25;

fn make_node_tree(env: &Env) -> Result<()> {
    let root = env.host(&format!("{GUEST_DIR}/node-require"));
    fresh_dir(&root)?;
    let mut main = String::from(
        "'use strict';\n// sproot benchmark: require 3000 small modules (generated).\nlet sum = 0;\n",
    );
    for p in 0..NODE_PKGS {
        let name = format!("pkg-{p:03}");
        let pdir = root.join("node_modules").join(&name);
        fs::create_dir_all(pdir.join("lib/sub"))?;
        fs::write(
            pdir.join("package.json"),
            format!(
                "{{\n  \"name\": \"{name}\",\n  \"version\": \"1.0.{p}\",\n  \"main\": \"lib/index.js\"\n}}\n"
            ),
        )?;
        // lib/index.js requires its files (extension-less, as real code does) and,
        // by package name, the next package (resolved through node_modules lookup).
        let mut index = String::from("'use strict';\nconst parts = [\n");
        for m in 1..=NODE_TOP_FILES {
            index.push_str(&format!("  require('./m{m:02}'),\n"));
            // Some files live one directory down and require their sibling up.
            let sub = m % 5 == 0 && m < NODE_TOP_FILES;
            let body = if sub {
                format!("'use strict';\nmodule.exports = require('./sub/m{m:02}');\n")
            } else {
                format!(
                    "'use strict';\nmodule.exports = function m{m:02}(x) {{ return x + {m}; }};\n"
                )
            };
            fs::write(pdir.join("lib").join(format!("m{m:02}.js")), body)?;
            if sub {
                fs::write(
                    pdir.join("lib/sub").join(format!("m{m:02}.js")),
                    format!(
                        "'use strict';\nconst up = require('../m{:02}');\nmodule.exports = function m{m:02}(x) {{ return up(x) + 1; }};\n",
                        m - 1
                    ),
                )?;
            }
        }
        index.push_str("];\n");
        if p + 1 < NODE_PKGS {
            index.push_str(&format!("require('pkg-{:03}');\n", p + 1));
        }
        index.push_str(
            "module.exports = function (x) { return parts.reduce((a, f) => f(a), x); };\n",
        );
        fs::write(pdir.join("lib/index.js"), index)?;
        main.push_str(&format!("sum += require('{name}')({p});\n"));
    }
    main.push_str(
        "console.log(`${Object.keys(require.cache).length} modules loaded, checksum ${sum}`);\n",
    );
    fs::write(root.join("main.js"), main)?;
    let out = native_sh(env, &format!("node {GUEST_DIR}/node-require/main.js"), &[])?;
    eprintln!("bench:   node-require: {}", out.trim());
    Ok(())
}

// ---------------------------------------------------------------------------
// node-workers: worker_threads + the libuv pool busy.

const NODE_WORKERS_JS: &str = r#"'use strict';
// sproot benchmark: 8 worker_threads, each (and the main thread) doing 64
// fs.promises.stat in parallel; run with UV_THREADPOOL_SIZE=16 (generated).
const { Worker, isMainThread, parentPort } = require('worker_threads');
const fsp = require('fs').promises;
const PATHS = ['/etc/passwd', '/bin/sh', '/usr/lib/x86_64-linux-gnu/libc.so.6', '/usr/include/stdio.h'];
const WORKERS = 8, STATS = 64;

async function storm() {
  const all = await Promise.all(Array.from({ length: STATS }, (_, i) => fsp.stat(PATHS[i % PATHS.length])));
  return all.filter((s) => s.size > 0).length;
}

if (isMainThread) {
  const workers = Array.from({ length: WORKERS }, () => new Promise((resolve, reject) => {
    const w = new Worker(__filename);
    w.once('message', resolve);
    w.once('error', reject);
    w.once('exit', (code) => { if (code !== 0) reject(new Error(`worker exited with ${code}`)); });
  }));
  Promise.all([storm(), ...workers]).then((counts) => {
    console.log(`${WORKERS} workers, ${counts.reduce((a, b) => a + b, 0)} stats`);
  }, (err) => { console.error(err); process.exit(1); });
} else {
  storm().then((n) => parentPort.postMessage(n));
}
"#;

fn make_node_workers(env: &Env) -> Result<()> {
    fs::write(
        env.host(&format!("{GUEST_DIR}/node-workers.js")),
        NODE_WORKERS_JS,
    )?;
    native_sh(
        env,
        &format!("node {GUEST_DIR}/node-workers.js"),
        &[("UV_THREADPOOL_SIZE", "16")],
    )?;
    Ok(())
}

// ---------------------------------------------------------------------------
// npm-project: package.json + package-lock.json of express + lodash, from one
// online `npm install` in the guest; its cache (the guest's ~/.npm) stays warm.

pub const NPM_PROJECT: &str = "/opt/sproot-bench/npm-project";

const NPM_ENV: &[(&str, &str)] = &[
    ("npm_config_update_notifier", "false"),
    ("npm_config_fund", "false"),
    ("npm_config_audit", "false"),
    ("npm_config_loglevel", "error"),
    ("npm_config_progress", "false"),
];

/// Environment for the steps that go online (npm install, pip download):
/// the host's proxy settings, and the host's CA bundle copied into the rootfs
/// (TLS-intercepting proxies sign with a CA the guest does not know).
fn online_env(env: &Env) -> Result<Vec<(String, String)>> {
    let mut out = vec![];
    for k in [
        "http_proxy",
        "https_proxy",
        "no_proxy",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "NO_PROXY",
    ] {
        if let Ok(v) = std::env::var(k) {
            out.push((k.to_string(), v));
        }
    }
    let host_ca = ["SSL_CERT_FILE", "NODE_EXTRA_CA_CERTS", "REQUESTS_CA_BUNDLE"]
        .iter()
        .filter_map(|k| std::env::var(k).ok())
        .chain(std::iter::once(
            "/etc/ssl/certs/ca-certificates.crt".to_string(),
        ))
        .map(PathBuf::from)
        .find(|p| p.is_file());
    if let Some(ca) = host_ca {
        let guest = format!("{GUEST_DIR}/host-ca.crt");
        fs::copy(&ca, env.host(&guest)).with_context(|| format!("copying {}", ca.display()))?;
        for k in [
            "NODE_EXTRA_CA_CERTS",
            "PIP_CERT",
            "SSL_CERT_FILE",
            "REQUESTS_CA_BUNDLE",
        ] {
            out.push((k.to_string(), guest.clone()));
        }
    }
    Ok(out)
}

fn with_online<'a>(
    base: &[(&'a str, &'a str)],
    online: &'a [(String, String)],
) -> Vec<(&'a str, &'a str)> {
    let mut v = base.to_vec();
    v.extend(online.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    v
}

fn make_npm_project(env: &Env) -> Result<()> {
    let online = online_env(env)?;
    let dir = env.host(NPM_PROJECT);
    fresh_dir(&dir)?;
    fs::write(
        dir.join("package.json"),
        "{\n  \"name\": \"sproot-bench-npm\",\n  \"version\": \"1.0.0\",\n  \"private\": true\n}\n",
    )?;
    native_sh(
        env,
        &format!("cd {NPM_PROJECT}\nnpm install --save express@4 lodash@4\nrm -rf node_modules"),
        &with_online(NPM_ENV, &online),
    )?;
    // The benchmark's own command must work natively, offline.
    let out = native_sh(
        env,
        &format!(
            "d=/tmp/sproot-bench-npm-check; rm -rf $d; mkdir -p $d\n\
             cp {NPM_PROJECT}/package.json {NPM_PROJECT}/package-lock.json $d/\n\
             cd $d && npm ci --offline\n\
             ls node_modules | wc -l\ncd / && rm -rf $d"
        ),
        NPM_ENV,
    )?;
    eprintln!(
        "bench:   npm-project: {} top-level packages in node_modules",
        out.trim()
    );
    Ok(())
}

// ---------------------------------------------------------------------------
// wheels: `pip download` of requests (+ idna, certifi, charset-normalizer,
// urllib3) and six, once, for offline installs.

fn make_wheels(env: &Env) -> Result<()> {
    let dir = env.host(&format!("{GUEST_DIR}/wheels"));
    fresh_dir(&dir)?;
    let online = online_env(env)?;
    native_sh(
        env,
        &format!(
            "python3 -m pip download -q --disable-pip-version-check --only-binary=:all: \
             --dest {GUEST_DIR}/wheels requests six\n\
             d=/tmp/sproot-bench-pip-check; rm -rf $d\n\
             python3 -m pip install -q --disable-pip-version-check --no-index \
             --find-links {GUEST_DIR}/wheels --target $d requests six\n\
             rm -rf $d"
        ),
        &with_online(&[], &online),
    )?;
    let n = fs::read_dir(&dir)?.count();
    eprintln!("bench:   wheels: {n} files");
    Ok(())
}
