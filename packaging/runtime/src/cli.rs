//! The runtime's own command line: an `--appimage-*` first argument is for the runtime (the
//! type-2 spec's interface); anything else goes to the app untouched.
//!
//! See: <https://github.com/AppImage/AppImageSpec/blob/master/draft.md#type-2-image-format>

use std::ffi::OsString;

use crate::error::{Error, Result};

/// What one start was asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Run the app with these arguments.
    Run {
        /// Extract to a temporary directory instead of mounting (removed after the app exits).
        extract_and_run: bool,
        /// The app's arguments.
        args: Vec<OsString>,
    },
    /// Extract (the entries matching the pattern) into `./squashfs-root`.
    Extract(Option<String>),
    /// Mount, print the mount point, stay until interrupted.
    Mount,
    /// Print the payload's offset.
    Offset,
    /// Print the update information (`.upd_info`).
    UpdateInformation,
    /// Print the version.
    Version,
    /// Print the help.
    Help,
}

/// Parses the arguments after argv[0]; `extract_env` is APPIMAGE_EXTRACT_AND_RUN == "1".
pub fn parse(mut args: Vec<OsString>, extract_env: bool) -> Result<Command> {
    let first = args
        .first()
        .and_then(|a| a.to_str())
        .unwrap_or_default()
        .to_owned();
    if !first.starts_with("--appimage-") {
        return Ok(Command::Run {
            extract_and_run: extract_env,
            args,
        });
    }
    let rest = args.split_off(1);
    let no_more = |cmd: Command| {
        if rest.is_empty() {
            Ok(cmd)
        } else {
            Err(Error::Usage(format!("{first} takes no argument")))
        }
    };
    match first.as_str() {
        "--appimage-extract-and-run" => Ok(Command::Run {
            extract_and_run: true,
            args: rest,
        }),
        "--appimage-extract" => match rest.as_slice() {
            [] => Ok(Command::Extract(None)),
            [p] => p
                .to_str()
                .map(|p| Command::Extract(Some(p.to_owned())))
                .ok_or_else(|| Error::Usage("the extract pattern is not valid UTF-8".into())),
            _ => Err(Error::Usage(
                "--appimage-extract takes at most one PATTERN".into(),
            )),
        },
        "--appimage-mount" => no_more(Command::Mount),
        "--appimage-offset" => no_more(Command::Offset),
        "--appimage-updateinformation" | "--appimage-updateinfo" => {
            no_more(Command::UpdateInformation)
        }
        "--appimage-version" => no_more(Command::Version),
        "--appimage-help" => no_more(Command::Help),
        other => Err(Error::Usage(format!("unknown runtime option {other}"))),
    }
}

/// `--appimage-help`.
pub const HELP: &str = "\
AppImage options (anything else is passed to the app):
  --appimage-extract [PATTERN]   extract the files (matching the shell PATTERN) to ./squashfs-root
  --appimage-extract-and-run     extract to a temporary directory, run from there, remove it after
                                 (also: APPIMAGE_EXTRACT_AND_RUN=1)
  --appimage-mount               mount the image, print the mount point, wait for Ctrl-C
  --appimage-offset              print the byte offset of the SquashFS payload
  --appimage-updateinformation   print the update information embedded in the image
  --appimage-version             print the runtime's version
  --appimage-help                print this help

Without FUSE (no /dev/fuse, no fusermount3 or fusermount, or the mount refused) the app is
extracted once to ${XDG_CACHE_HOME:-~/.cache}/qmlbridge/appimage/<payload digest> and later
starts run from there; QMLBRIDGE_APPIMAGE_NO_FUSE=1 asks for that mode even where FUSE works.
TARGET_APPIMAGE=PATH runs the image at PATH instead of this one (for launchers).
";

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<OsString> {
        a.iter().map(OsString::from).collect()
    }

    #[test]
    fn app_arguments_pass_through_untouched() {
        let cmd = parse(args(&["--verbose", "--appimage-help"]), false).unwrap();
        assert_eq!(
            cmd,
            Command::Run {
                extract_and_run: false,
                args: args(&["--verbose", "--appimage-help"])
            }
        );
        assert_eq!(
            parse(vec![], true).unwrap(),
            Command::Run {
                extract_and_run: true,
                args: vec![]
            }
        );
    }

    #[test]
    fn runtime_options_are_recognised() {
        assert_eq!(
            parse(args(&["--appimage-extract-and-run", "x"]), false).unwrap(),
            Command::Run {
                extract_and_run: true,
                args: args(&["x"])
            }
        );
        assert_eq!(
            parse(args(&["--appimage-extract"]), false).unwrap(),
            Command::Extract(None)
        );
        assert_eq!(
            parse(args(&["--appimage-extract", "usr/bin/*"]), false).unwrap(),
            Command::Extract(Some("usr/bin/*".into()))
        );
        assert_eq!(
            parse(args(&["--appimage-offset"]), false).unwrap(),
            Command::Offset
        );
        assert_eq!(
            parse(args(&["--appimage-mount"]), false).unwrap(),
            Command::Mount
        );
        assert_eq!(
            parse(args(&["--appimage-version"]), false).unwrap(),
            Command::Version
        );
        assert_eq!(
            parse(args(&["--appimage-updateinformation"]), false).unwrap(),
            Command::UpdateInformation
        );
    }

    #[test]
    fn a_mistyped_option_names_itself_and_the_help() {
        let err = parse(args(&["--appimage-extrakt"]), false)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("--appimage-extrakt") && err.contains("--appimage-help"),
            "{err}"
        );
        let err = parse(args(&["--appimage-offset", "1"]), false)
            .unwrap_err()
            .to_string();
        assert!(err.contains("takes no argument"), "{err}");
    }
}
