//! Generates sproot's manual page and shell completions from the same clap
//! definition as `sproot --help` (`sproot::cli::Cli`), so they cannot drift.
//!
//! ```text
//! sproot-gen man                 the manual page (roff) on stdout
//! sproot-gen completions SHELL   bash, zsh or fish completions on stdout
//! sproot-gen all DIR             DIR/sproot.1, DIR/sproot.bash, DIR/_sproot, DIR/sproot.fish
//! ```

use anyhow::{Context, Result, bail};
use clap::CommandFactory;
use clap_complete::Shell;
use clap_mangen::roff::{Roff, bold, roman};
use sproot::cli::{Cli, ENVIRONMENT, EXAMPLES, EXIT_STATUS};
use std::io::Write;
use std::path::Path;

fn man_page() -> Result<Vec<u8>> {
    let man = clap_mangen::Man::new(Cli::command())
        .title("SPROOT")
        .section("1")
        .source(format!("sproot {}", env!("CARGO_PKG_VERSION")))
        .manual("User Commands");
    let mut out = Vec::new();
    man.render_title(&mut out)?;
    man.render_name_section(&mut out)?;
    man.render_synopsis_section(&mut out)?;
    man.render_description_section(&mut out)?;
    man.render_options_section(&mut out)?;

    let mut roff = Roff::default();
    roff.control("SH", ["ENVIRONMENT"]);
    for (name, what) in ENVIRONMENT {
        roff.control("TP", []);
        roff.text([bold(*name)]);
        roff.text([roman(*what)]);
    }
    roff.control("SH", ["EXIT STATUS"]);
    roff.text([roman(EXIT_STATUS)]);
    roff.control("SH", ["EXAMPLES"]);
    for (cmd, what) in EXAMPLES {
        roff.control("TP", []);
        roff.text([bold(*cmd)]);
        roff.text([roman(*what)]);
    }
    roff.control("SH", ["SEE ALSO"]);
    roff.text([roman("proot(1), chroot(8), ptrace(2), seccomp(2)")]);
    roff.to_writer(&mut out)?;
    man.render_version_section(&mut out)?;
    Ok(out)
}

fn completions(shell: Shell) -> Vec<u8> {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "sproot", &mut out);
    out
}

fn shell(name: &str) -> Result<Shell> {
    match name {
        "bash" => Ok(Shell::Bash),
        "zsh" => Ok(Shell::Zsh),
        "fish" => Ok(Shell::Fish),
        _ => bail!("unknown shell {name:?} (bash, zsh, fish)"),
    }
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("write {}", path.display()))
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut stdout = std::io::stdout();
    match args.as_slice() {
        ["man"] => stdout.write_all(&man_page()?)?,
        ["completions", name] => stdout.write_all(&completions(shell(name)?))?,
        ["all", dir] => {
            let dir = Path::new(dir);
            std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
            write(&dir.join("sproot.1"), &man_page()?)?;
            write(&dir.join("sproot.bash"), &completions(Shell::Bash))?;
            write(&dir.join("_sproot"), &completions(Shell::Zsh))?;
            write(&dir.join("sproot.fish"), &completions(Shell::Fish))?;
        }
        _ => bail!("usage: sproot-gen man | completions bash|zsh|fish | all DIR"),
    }
    Ok(())
}
