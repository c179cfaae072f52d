//! The download of a release and its installation over the running image. A delta first: the
//! release's `.zsync` file says which blocks the new image has, the running image is scanned for
//! them ([`ControlFile::match_seed`]), those found are copied and only the rest is fetched with
//! one range request per run of missing blocks. The whole image is fetched instead when the
//! `.zsync` file is missing or invalid or describes another file, when the server ignores ranges
//! (it answers 200: that answer is the whole image and is used as such) or answers ranges it was
//! not asked for, and when the assembled file is not the one the `.zsync` file describes (its
//! SHA-1). Whichever way it came, the complete file is verified against the signed release
//! ([`Release::verify_image`]) before anything is replaced (module `install`).

use std::fs::File;
use std::io::Read;
use std::ops::Range;
use std::os::unix::fs::FileExt as _;
use std::path::Path;

use sha1::{Digest as _, Sha1};

use crate::http::{Body, Http, Ranged};
use crate::install::{Paths, writable};
use crate::updater::{Config, record_install};
use crate::zsync::ControlFile;
use crate::{Error, Release, Result};

/// The largest `.zsync` file read: 20 bytes a block at most, so a 6 GiB image's.
const MAX_CONTROL: u64 = 64 << 20;
/// Progress is reported at most every this many bytes (and at the end).
const PROGRESS_STEP: u64 = 256 * 1024;
/// The copying and hashing buffer.
const BUFFER: usize = 1 << 20;

/// How far a download is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    /// Bytes of the new image in place (`fetched + reused`).
    pub done: u64,
    /// The new image's size.
    pub total: u64,
    /// Bytes fetched from the server.
    pub fetched: u64,
    /// Bytes copied from the running image.
    pub reused: u64,
}

/// An installed release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installed {
    /// Its version.
    pub version: String,
    /// Its size in bytes.
    pub size: u64,
    /// Bytes fetched from the server (the whole size, or less for a delta; the ranges of a
    /// delta given up for a whole download are not counted).
    pub fetched: u64,
    /// Bytes copied from the image it replaced.
    pub reused: u64,
    /// Where the replaced image is kept (`.<image name>.previous` beside the image).
    pub previous: std::path::PathBuf,
}

/// Downloads `release` (from [`check`](crate::check)), verifies it and installs it over
/// `cfg.image`, keeping the replaced image for [`roll_back`](crate::roll_back). `progress` is
/// called as bytes arrive. On any error nothing is replaced and no downloaded file is left; the
/// same when the returned future is dropped before it completes. One update of an image runs at
/// a time ([`Error::Busy`]).
pub async fn download(
    cfg: &Config,
    release: &Release,
    progress: impl Fn(Progress) + Send + Sync,
) -> Result<Installed> {
    writable(&cfg.image)?;
    let paths = Paths::of(&cfg.image)?;
    let _lock = paths.lock()?;
    let mut staged = Staged {
        file: paths.create_staged()?,
        path: &paths.staged,
        keep: false,
    };
    let http = Http::new()?;
    let mut meter = Meter {
        now: Progress {
            total: release.size,
            ..Progress::default()
        },
        reported: 0,
        progress: &progress,
    };
    let whole = match delta(&http, release, &paths, &staged, &mut meter).await? {
        Delta::Assembled => None,
        Delta::Whole(body) => Some(body),
        Delta::Fallback(why) => {
            tracing::info!(target: "qmlbridge::update", "whole download: {why}");
            Some(http.whole(&release.url).await?)
        }
    };
    if let Some(body) = whole {
        meter.now.fetched = 0;
        meter.now.reused = 0;
        write_whole(body, release.size, &staged, &mut meter).await?;
    }
    meter.report(true);
    let (file, keys, checked) = (
        staged
            .file
            .try_clone()
            .map_err(Error::io("open", staged.path))?,
        cfg.keys.clone(),
        release.clone(),
    );
    blocking(move || checked.verify_image(At::new(&file), &keys)).await?;
    paths.prepare(&staged.file)?;
    record_install(cfg, &paths, &release.version)?;
    paths.replace()?;
    staged.keep = true;
    Ok(Installed {
        version: release.version.clone(),
        size: release.size,
        fetched: meter.now.fetched,
        reused: meter.now.reused,
        previous: paths.previous.clone(),
    })
}

/// The staged file, removed unless installed (an error, or the download dropped half-way).
struct Staged<'a> {
    file: File,
    path: &'a Path,
    keep: bool,
}

impl Staged<'_> {
    fn write(&self, bytes: &[u8], at: u64) -> Result<()> {
        self.file
            .write_all_at(bytes, at)
            .map_err(Error::io("write", self.path))
    }
}

impl Drop for Staged<'_> {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_file(self.path);
        }
    }
}

/// The counts, and the callback told of them.
struct Meter<'a, F> {
    now: Progress,
    reported: u64,
    progress: &'a F,
}

impl<F: Fn(Progress)> Meter<'_, F> {
    fn add(&mut self, fetched: u64, reused: u64) {
        self.now.fetched += fetched;
        self.now.reused += reused;
        self.report(false);
    }

    fn report(&mut self, always: bool) {
        self.now.done = self.now.fetched + self.now.reused;
        if always || self.now.done >= self.reported + PROGRESS_STEP {
            self.reported = self.now.done;
            (self.progress)(self.now);
        }
    }
}

/// How the delta went.
enum Delta {
    /// The staged file holds the image the `.zsync` file describes.
    Assembled,
    /// The server ignored a range request and is sending the whole image.
    Whole(Body),
    /// The delta is not possible: why.
    Fallback(String),
}

async fn delta<F: Fn(Progress)>(
    http: &Http,
    release: &Release,
    paths: &Paths,
    staged: &Staged<'_>,
    meter: &mut Meter<'_, F>,
) -> Result<Delta> {
    let control = match http.small(&release.zsync, MAX_CONTROL).await {
        Ok(bytes) => match ControlFile::parse(&bytes) {
            Ok(c) => c,
            Err(e) => return Ok(Delta::Fallback(e.to_string())),
        },
        Err(e @ (Error::Http { .. } | Error::TooLarge { .. })) => {
            return Ok(Delta::Fallback(e.to_string()));
        }
        Err(e) => return Err(e),
    };
    if control.length != release.size {
        return Ok(Delta::Fallback(format!(
            "the .zsync file describes {} bytes, the release has {}",
            control.length, release.size
        )));
    }
    let seed = File::open(&paths.image).map_err(Error::io("read", &paths.image))?;
    let (control, matches) = {
        let seed = seed.try_clone().map_err(Error::io("read", &paths.image))?;
        blocking(move || {
            let m = control.match_seed(At::new(&seed)).map_err(Error::Read)?;
            Ok((control, m))
        })
        .await?
    };
    for (target, from) in matches.copies() {
        copy(&seed, from, staged, &target)?;
        meter.add(0, target.end - target.start);
    }
    for range in matches.missing() {
        match http.range(&release.url, &range, release.size).await {
            Ok(Ranged::Partial(body)) => write_range(body, &range, staged, meter).await?,
            Ok(Ranged::Whole(body)) => return Ok(Delta::Whole(body)),
            Ok(Ranged::Unusable(why)) => return Ok(Delta::Fallback(why)),
            Err(e @ Error::Http { .. }) => return Ok(Delta::Fallback(e.to_string())),
            Err(e) => return Err(e),
        }
    }
    let file = staged
        .file
        .try_clone()
        .map_err(Error::io("open", &paths.staged))?;
    let sha1 = blocking(move || {
        let mut sha = Sha1::new();
        let mut reader = At::new(&file);
        let mut buf = vec![0u8; BUFFER];
        loop {
            let n = reader.read(&mut buf).map_err(Error::Read)?;
            if n == 0 {
                break;
            }
            sha.update(&buf[..n]);
        }
        Ok(crate::feed::hex(&sha.finalize()))
    })
    .await?;
    if sha1 != control.sha1 {
        return Ok(Delta::Fallback(format!(
            "the assembled file's SHA-1 is {sha1}, the .zsync file's {}",
            control.sha1
        )));
    }
    tracing::info!(
        target: "qmlbridge::update",
        reused = meter.now.reused,
        fetched = meter.now.fetched,
        size = release.size,
        "delta assembled"
    );
    Ok(Delta::Assembled)
}

/// Copies `target.len()` bytes of `seed` from `from` to `target` in `staged`; past the seed's
/// end, zeros (the control file's padding).
fn copy(seed: &File, from: u64, staged: &Staged<'_>, target: &Range<u64>) -> Result<()> {
    let mut buf = vec![0u8; BUFFER.min((target.end - target.start) as usize)];
    let mut at = 0u64;
    while at < target.end - target.start {
        let n = buf.len().min((target.end - target.start - at) as usize);
        let got = read_at_most(seed, &mut buf[..n], from + at).map_err(Error::Read)?;
        buf[got..n].fill(0);
        staged.write(&buf[..n], target.start + at)?;
        at += n as u64;
    }
    Ok(())
}

fn read_at_most(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match file.read_at(&mut buf[got..], offset + got as u64) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

async fn write_range<F: Fn(Progress)>(
    mut body: Body,
    range: &Range<u64>,
    staged: &Staged<'_>,
    meter: &mut Meter<'_, F>,
) -> Result<()> {
    let mut at = range.start;
    while let Some(chunk) = body.chunk().await? {
        if at + chunk.len() as u64 > range.end {
            return Err(Error::Network {
                url: body.url().to_owned(),
                problem: format!(
                    "more bytes than the range {}-{}",
                    range.start,
                    range.end - 1
                ),
            });
        }
        staged.write(&chunk, at)?;
        at += chunk.len() as u64;
        meter.add(chunk.len() as u64, 0);
    }
    if at != range.end {
        return Err(Error::Network {
            url: body.url().to_owned(),
            problem: format!(
                "the range {}-{} ended after {} bytes",
                range.start,
                range.end - 1,
                at - range.start
            ),
        });
    }
    Ok(())
}

/// The whole image from `body` into `staged`, refused past `size` bytes.
async fn write_whole<F: Fn(Progress)>(
    mut body: Body,
    size: u64,
    staged: &Staged<'_>,
    meter: &mut Meter<'_, F>,
) -> Result<()> {
    if let Some(len) = body.content_length().filter(|&l| l != size) {
        return Err(Error::ImageSize {
            expected: size,
            actual: len,
        });
    }
    staged
        .file
        .set_len(0)
        .map_err(Error::io("truncate", staged.path))?;
    let mut at = 0u64;
    while let Some(chunk) = body.chunk().await? {
        if at + chunk.len() as u64 > size {
            return Err(Error::ImageSize {
                expected: size,
                actual: at + chunk.len() as u64,
            });
        }
        staged.write(&chunk, at)?;
        at += chunk.len() as u64;
        meter.add(chunk.len() as u64, 0);
    }
    Ok(())
}

/// Runs CPU- or disk-bound work (scanning, hashing) off the async threads.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Read(std::io::Error::other(e.to_string())))?
}

/// A file read from its start through positioned reads (its handle's offset untouched).
struct At<'a> {
    file: &'a File,
    pos: u64,
}

impl<'a> At<'a> {
    fn new(file: &'a File) -> At<'a> {
        At { file, pos: 0 }
    }
}

impl Read for At<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.file.read_at(buf, self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The host spawns these on its tokio runtime: they must be `Send` (checked by compiling).
    #[allow(dead_code)]
    fn the_futures_are_send(cfg: &Config, release: &Release) {
        fn send<T: Send>(_: T) {}
        send(download(cfg, release, |_| {}));
        send(crate::check(cfg));
    }
}
