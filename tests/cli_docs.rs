//! The manual page, the shell completions and `scripts/install.sh`: all
//! generated from the clap definition that `--help` prints, so they must say
//! the same things.

mod common;

use clap::CommandFactory;
use common::*;
use sproot::cli::{Cli, ENVIRONMENT, EXAMPLES};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

fn gen_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_sproot-gen"))
}

fn generate(args: &[&str]) -> Output {
    let mut cmd = Command::new(gen_bin());
    cmd.args(args);
    let out = output_with_timeout(cmd, Duration::from_secs(20), "sproot-gen");
    assert_success(&out, &format!("sproot-gen {}", args.join(" ")));
    out
}

/// Whitespace runs folded to one space, a final period dropped.
fn norm(s: &str) -> String {
    let s = s.split_whitespace().collect::<Vec<_>>().join(" ");
    s.trim_end_matches('.').to_string()
}

/// The text of a roff page: control lines dropped, the escapes clap_mangen
/// writes turned back into characters. Panics on an escape it does not
/// know, so a page that needs a real roff parser fails here loudly.
fn roff_text(page: &str) -> String {
    let mut text = String::new();
    for line in page.lines() {
        if line.starts_with('.') || line.starts_with('\'') {
            continue;
        }
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            if c != '\\' {
                text.push(c);
                continue;
            }
            match chars.next() {
                Some('\\') => text.push('\\'),
                Some('-') => text.push('-'),
                Some('&') => {}
                Some('f') => {
                    chars.next();
                }
                Some('(') => {
                    let code: String = [chars.next(), chars.next()].iter().flatten().collect();
                    text.push_str(match code.as_str() {
                        "aq" => "'",
                        "bu" => "*",
                        _ => panic!("unknown roff escape \\({code} in: {line}"),
                    });
                }
                Some('*') => {
                    let code: String = [chars.next(), chars.next(), chars.next()]
                        .iter()
                        .flatten()
                        .collect();
                    assert_eq!(code, "(Aq", "unknown roff string in: {line}");
                    text.push('\'');
                }
                other => panic!("unknown roff escape \\{other:?} in: {line}"),
            }
        }
        text.push('\n');
    }
    text
}

#[test]
fn man_page_shows_every_option_with_the_help_text() {
    let page = stdout_str(&generate(&["man"]));
    let man = norm(&roff_text(&page));
    let help = norm(&stdout_str(&run_timeout(&["--help"], 10)));
    let cmd = Cli::command();
    let mut checked = 0;
    for arg in cmd.get_arguments().filter(|a| !a.is_hide_set()) {
        let text = norm(
            &arg.get_long_help()
                .or(arg.get_help())
                .map(|h| h.to_string())
                .unwrap_or_default(),
        );
        assert!(!text.is_empty(), "option {} has no help", arg.get_id());
        assert!(
            man.contains(&text),
            "the manual page lacks the help of {}: {text:?}",
            arg.get_id()
        );
        assert!(
            help.contains(&text),
            "--help lacks the help of {}: {text:?}",
            arg.get_id()
        );
        for flag in arg
            .get_long()
            .map(|l| format!("--{l}"))
            .into_iter()
            .chain(arg.get_short().map(|s| format!("-{s}")))
        {
            assert!(man.contains(&flag), "the manual page lacks {flag}");
            assert!(help.contains(&flag), "--help lacks {flag}");
        }
        checked += 1;
    }
    assert!(checked > 25, "only {checked} options checked");
    for (name, what) in ENVIRONMENT {
        assert!(
            man.contains(&norm(&format!("{name} {what}"))),
            "ENVIRONMENT lacks {name}"
        );
        assert!(help.contains(name), "--help lacks {name}");
    }
    for (example, _) in EXAMPLES {
        assert!(man.contains(example), "EXAMPLES lacks {example}");
    }
    for section in [
        "NAME",
        "SYNOPSIS",
        "OPTIONS",
        "ENVIRONMENT",
        "EXAMPLES",
        "EXIT STATUS",
    ] {
        assert!(
            page.contains(&format!(".SH {section}"))
                || page.contains(&format!(".SH \"{section}\"")),
            "the manual page has no {section} section"
        );
    }
}

/// groff in its strictest mode finds nothing to warn about (skipped, with a
/// note, where groff is not installed; CI installs groff-base).
#[test]
fn man_page_is_clean_roff() {
    let page = generate(&["man"]).stdout;
    let dir = unique_temp_dir("cli-man");
    let file = dir.join("sproot.1");
    std::fs::write(&file, &page).unwrap();
    let mut cmd = Command::new("groff");
    cmd.args(["-man", "-Tutf8", "-ww", "-z"]).arg(&file);
    match cmd.output() {
        Err(e) => eprintln!("note: groff not available ({e}); roff check skipped"),
        Ok(out) => {
            assert_success(&out, "groff -man -ww");
            assert_eq!(stderr_str(&out), "", "groff warnings:\n{}", describe(&out));
        }
    }
    remove_temp_dir(&dir);
}

#[test]
fn completions_offer_every_option_and_are_valid_shell() {
    let cmd = Cli::command();
    let longs: Vec<String> = cmd
        .get_arguments()
        .filter(|a| !a.is_hide_set())
        .filter_map(|a| a.get_long().map(str::to_string))
        .collect();
    let bash = stdout_str(&generate(&["completions", "bash"]));
    let zsh = stdout_str(&generate(&["completions", "zsh"]));
    let fish = stdout_str(&generate(&["completions", "fish"]));
    for l in &longs {
        assert!(bash.contains(&format!("--{l}")), "bash lacks --{l}");
        assert!(zsh.contains(&format!("--{l}")), "zsh lacks --{l}");
        assert!(fish.contains(&format!("-l {l}")), "fish lacks -l {l}");
    }
    assert!(zsh.starts_with("#compdef sproot"), "{}", &zsh[..40]);
    assert!(bash.contains("complete -F _sproot"), "bash: no complete -F");

    let dir = unique_temp_dir("cli-completions");
    for (shell, text) in [("bash", &bash), ("zsh", &zsh), ("fish", &fish)] {
        let file = dir.join(shell);
        std::fs::write(&file, text).unwrap();
        match Command::new(shell).arg("-n").arg(&file).output() {
            Err(_) if shell != "bash" => {
                eprintln!("note: {shell} not installed; syntax not checked")
            }
            Err(e) => panic!("bash: {e}"),
            Ok(out) => assert_success(&out, &format!("{shell} -n on its completions")),
        }
    }
    // bash really completes an option from the generated function.
    let script = format!(
        "source {}; COMP_WORDS=(sproot --roo); COMP_CWORD=1; _sproot sproot --roo sproot; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        dir.join("bash").display()
    );
    let out = Command::new("bash").args(["-c", &script]).output().unwrap();
    assert_success(&out, "bash completion");
    assert!(
        stdout_str(&out)
            .lines()
            .any(|l| l == "--root-id" || l == "--rootfs"),
        "{}",
        describe(&out)
    );
    remove_temp_dir(&dir);
}

fn install(args: &[&str], env: &[(&str, &Path)]) -> Output {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/install.sh");
    let mut cmd = Command::new(script);
    cmd.args(args)
        .env("SPROOT_PREBUILT", sproot_bin().parent().unwrap())
        .env_remove("PREFIX")
        .env_remove("DESTDIR");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = output_with_timeout(cmd, Duration::from_secs(60), "scripts/install.sh");
    assert_success(&out, "scripts/install.sh");
    out
}

const INSTALLED: &[&str] = &[
    "bin/sproot",
    "share/man/man1/sproot.1",
    "share/bash-completion/completions/sproot",
    "share/zsh/site-functions/_sproot",
    "share/fish/vendor_completions.d/sproot.fish",
];

#[test]
fn install_script_puts_binary_manual_and_completions_under_the_prefix() {
    let dir = unique_temp_dir("cli-install");
    let prefix = dir.join("prefix");
    install(&[prefix.to_str().unwrap()], &[]);
    for f in INSTALLED {
        assert!(prefix.join(f).is_file(), "{f} not installed");
    }
    let out = Command::new(prefix.join("bin/sproot"))
        .arg("-V")
        .output()
        .unwrap();
    assert_success(&out, "installed sproot -V");
    assert_eq!(
        std::fs::read(prefix.join("share/man/man1/sproot.1")).unwrap(),
        generate(&["man"]).stdout
    );
    // `man sproot` finds and formats it, when man is installed.
    if let Ok(out) = Command::new("man")
        .arg("sproot")
        .env("MANPATH", prefix.join("share/man"))
        .env("MANPAGER", "cat")
        .env("MANWIDTH", "200")
        .output()
    {
        assert_success(&out, "man sproot");
        assert!(
            stdout_str(&out).contains("--kill-on-exit"),
            "{}",
            describe(&out)
        );
    }

    // PREFIX and DESTDIR from the environment: a staged install.
    let stage = dir.join("stage");
    install(&[], &[("PREFIX", Path::new("/usr")), ("DESTDIR", &stage)]);
    for f in INSTALLED {
        assert!(stage.join("usr").join(f).is_file(), "{f} not staged");
    }
    remove_temp_dir(&dir);
}

#[test]
fn the_licence_is_stated_in_cargo_toml_and_its_texts_are_shipped() {
    assert_eq!(env!("CARGO_PKG_LICENSE"), "MIT OR Apache-2.0");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mit = std::fs::read_to_string(dir.join("LICENSE-MIT")).expect("LICENSE-MIT");
    assert!(mit.contains("Permission is hereby granted, free of charge"));
    let apache = std::fs::read_to_string(dir.join("LICENSE-APACHE")).expect("LICENSE-APACHE");
    assert!(apache.contains("Apache License") && apache.contains("Version 2.0, January 2004"));
}
