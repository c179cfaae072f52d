//! `qmlbridge --help` as a user reads it: every subcommand listed with its description (the first
//! line of the subcommand's own `--help`), the edit loop, the linter and the release key among them.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_qmlbridge");

fn help(args: &[&str]) -> String {
    let out = Command::new(BIN).args(args).output().unwrap();
    assert!(out.status.success(), "{args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// The `Commands:` section of `--help`: (name, description) per line, `help` itself aside.
fn commands(text: &str) -> Vec<(String, String)> {
    text.lines()
        .skip_while(|l| *l != "Commands:")
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| {
            let (name, description) = l.trim().split_once(char::is_whitespace)?;
            Some((name.to_owned(), description.trim().to_owned()))
        })
        .filter(|(name, _)| name != "help")
        .collect()
}

#[test]
fn help_lists_every_subcommand_with_its_description() {
    let top = help(&["--help"]);
    let listed = commands(&top);
    let names: Vec<&str> = listed.iter().map(|(n, _)| n.as_str()).collect();
    for name in ["new", "dev", "lint", "icon", "bundle", "keygen"] {
        assert!(names.contains(&name), "{name} missing from --help:\n{top}");
    }
    for (name, description) in &listed {
        assert!(!description.is_empty(), "{name} has no description:\n{top}");
        // The line shown is the subcommand's own summary (clap drops its final period), not a
        // stale copy.
        let own = help(&[name, "--help"]);
        assert_eq!(
            own.lines().next().map(|l| l.trim_end_matches('.')),
            Some(description.as_str()),
            "{name}: --help says {description:?}, `{name} --help` says:\n{own}"
        );
    }
}
