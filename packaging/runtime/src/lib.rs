//! qmlbridge's AppImage runtime: the ELF program at the start of every image `qmlbridge bundle`
//! writes. It finds the SquashFS payload after its own ELF image (type 2), mounts it read-only
//! through FUSE 3 or FUSE 2 without libfuse, or, where FUSE cannot be used, runs the app from a
//! per-user cache extracted once; then it becomes the app's AppRun. Built statically (glibc's
//! static archives, `crt-static`), so it needs nothing from the system it lands on.
//!
//! See: <https://github.com/AppImage/AppImageSpec/blob/master/draft.md#type-2-image-format>

pub mod cache;
pub mod cli;
pub mod elf;
pub mod error;
pub mod extract;
pub mod fs;
pub mod launch;
pub mod sections;
pub mod squash;
mod sys;

use std::ffi::OsString;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Instant;

use cli::Command;
use error::{Error, Result};
use launch::Me;
use squash::Image;

/// What the runtime prints its own lines with.
const TAG: &str = "qmlbridge-runtime";

/// Runs the runtime with `argv` (argv[0] first). Returns an exit status when it does not
/// become the app.
pub fn main(argv: Vec<OsString>) -> Result<i32> {
    let mut argv = argv.into_iter();
    let argv0 = argv.next().unwrap_or_default();
    let extract_env = std::env::var_os("APPIMAGE_EXTRACT_AND_RUN").is_some_and(|v| v == "1");
    let command = cli::parse(argv.collect(), extract_env)?;
    if command == Command::Help {
        print!("{}", cli::HELP);
        return Ok(0);
    }
    if command == Command::Version {
        println!("qmlbridge AppImage runtime {}", env!("CARGO_PKG_VERSION"));
        return Ok(0);
    }
    // A static runtime serves the image TARGET_APPIMAGE names when it exists, so a launcher
    // (AppImageLauncher) can run any image through it (the specification's "Runtime" section).
    let own = match std::env::var_os("TARGET_APPIMAGE").map(PathBuf::from) {
        Some(target) if target.is_file() => target,
        _ => PathBuf::from("/proc/self/exe"),
    };
    let image = std::fs::canonicalize(&own).map_err(Error::io("cannot resolve", &own))?;
    let file = File::open(&image).map_err(Error::io("cannot open", &image))?;
    let elf = elf::Elf::read(&file)?;
    let offset = elf.payload_offset();
    let me = Me {
        image: image.clone(),
        offset,
        argv0,
    };
    match command {
        Command::Offset => {
            println!("{offset}");
            Ok(0)
        }
        Command::UpdateInformation => {
            let info = elf.section_bytes(&file, sections::UPDATE_INFO)?;
            println!("{}", String::from_utf8_lossy(elf::until_nul(&info)));
            Ok(0)
        }
        _ if offset >= file.metadata().map(|m| m.len()).unwrap_or(0) => Err(Error::Image(format!(
            "{} is the runtime alone, with no SquashFS payload after it (build images with \
             `qmlbridge bundle`)",
            image.display()
        ))),
        Command::Extract(pattern) => extract_here(&me, pattern.as_deref()),
        Command::Mount => launch::mount_foreground(&me),
        Command::Run {
            extract_and_run: true,
            args,
        } => extract_and_run(&me, &args),
        Command::Run {
            extract_and_run: false,
            args,
        } => run(&me, &elf, &file, &args),
        Command::Help | Command::Version => unreachable!("answered above"),
    }
}

/// `--appimage-extract [PATTERN]`: into `./squashfs-root`, printing each path written.
fn extract_here(me: &Me, pattern: Option<&str>) -> Result<i32> {
    let image = Image::open(&me.image, me.offset)?;
    let dest = Path::new("squashfs-root");
    std::fs::create_dir_all(dest).map_err(Error::io("cannot create", dest))?;
    extract::extract(&image, dest, pattern, |rel| {
        println!("{}", dest.join(rel).display())
    })?;
    Ok(0)
}

/// `--appimage-extract-and-run`: a private temporary tree, removed once the app is gone.
fn extract_and_run(me: &Me, args: &[OsString]) -> Result<i32> {
    let image = Image::open(&me.image, me.offset)?;
    let dir = launch::temp_dir("appimage_extracted_")?;
    if let Err(e) = extract::extract(&image, &dir, None, |_| ()) {
        cache::remove_tree(&dir);
        return Err(e);
    }
    drop(image);
    let _keepalive = launch::remove_when_done(&dir)?;
    Err(launch::exec_app(me, &dir, args))
}

/// A normal start: FUSE when it can be used, else the per-user cache.
fn run(me: &Me, elf: &elf::Elf, file: &File, args: &[OsString]) -> Result<i32> {
    let reason = if std::env::var_os("QMLBRIDGE_APPIMAGE_NO_FUSE").is_some_and(|v| v == "1") {
        Some("QMLBRIDGE_APPIMAGE_NO_FUSE=1 is set".to_owned())
    } else {
        launch::fuse_unusable()
    };
    let reason = match reason {
        Some(r) => r,
        None => match launch::mount_helper(me) {
            Ok((mountpoint, _keepalive)) => return Err(launch::exec_app(me, &mountpoint, args)),
            Err(why) => format!("the FUSE mount failed: {}", why.trim_end()),
        },
    };
    let (dir, _lock) = from_cache(me, elf, file, &reason)?;
    Err(launch::exec_app(me, &dir, args))
}

/// The cache directory for this payload, extracted now if no earlier start did; logs which.
fn from_cache(me: &Me, elf: &elf::Elf, file: &File, reason: &str) -> Result<(PathBuf, File)> {
    let root = cache::root(
        std::env::var("XDG_CACHE_HOME").ok().as_deref(),
        std::env::var("HOME").ok().as_deref(),
    )?;
    let recorded = sections::payload_sha256(&elf.section_bytes(file, sections::PAYLOAD)?);
    let digest = match &recorded {
        Some(d) => d.clone(),
        None => cache::payload_sha256(&me.image, me.offset)?,
    };
    let image = Image::open(&me.image, me.offset)?;
    let started = Instant::now();
    let verify = || match &recorded {
        Some(want) => {
            let got = cache::payload_sha256(&me.image, me.offset)?;
            if &got == want {
                Ok(())
            } else {
                Err(Error::Image(format!(
                    "the payload's SHA-256 is {got}, the image records {want}"
                )))
            }
        }
        None => Ok(()),
    };
    let ready = cache::ensure(&image, &root, &digest, verify).map_err(|e| match e {
        // The app cannot start at all now: say why FUSE was not used, and every way out.
        Error::Io { .. } => Error::NoWayToRun {
            fuse: reason.to_owned(),
            cache: e.to_string(),
        },
        other => other,
    })?;
    match &ready.outcome {
        cache::Outcome::Reused => eprintln!(
            "{TAG}: FUSE cannot be used ({reason}); running from {} (extracted by an earlier start)",
            ready.dir.display()
        ),
        cache::Outcome::Extracted(w) => eprintln!(
            "{TAG}: FUSE cannot be used ({reason}); extracted the app once to {} ({} files, {:.1} MB, \
             {:.2} s); later starts run from there",
            ready.dir.display(),
            w.files,
            w.bytes as f64 / 1e6,
            started.elapsed().as_secs_f64()
        ),
    }
    sys::keep_across_exec(&ready.lock).map_err(Error::io("cannot keep the lock on", &ready.dir))?;
    Ok((ready.dir, ready.lock))
}
