//! The runtime as a user meets it: images made here (the runtime binary + a SquashFS written with
//! backhand, the payload digest written into `.qmlbridge_payload` as the packaging step does),
//! started as real processes. One prelude, one behaviour per test.

use std::fs::{self, File};
use std::io::Cursor;
use std::os::unix::fs::{FileExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use backhand::compression::Compressor;
use backhand::{FilesystemCompressor, FilesystemWriter, NodeHeader};
use qmlbridge_appimage_runtime::elf::Elf;
use qmlbridge_appimage_runtime::squash::{Image, Kind};
use qmlbridge_appimage_runtime::{extract, launch, sections};
use sha2::{Digest, Sha256};

/// How long a process or a mount may take to go away on a loaded 2-core machine.
const PATIENCE: Duration = Duration::from_secs(20);

/// A file spanning several 128 KiB blocks, not all alike (so a wrong block shows).
fn big_content() -> Vec<u8> {
    (0..400_000u32)
        .flat_map(|i| (i.wrapping_mul(2_654_435_761) >> 13).to_le_bytes())
        .take(1_000_003)
        .collect()
}

/// AppRun: prints what the runtime gave it, then exits with $EXIT_WITH (or 7), or sleeps.
const APPRUN: &str = "#!/bin/sh\n\
printf 'APPIMAGE=%s\\nAPPDIR=%s\\nARGV0=%s\\nOWD=%s\\nARGS=%s\\n' \"$APPIMAGE\" \"$APPDIR\" \"$ARGV0\" \"$OWD\" \"$*\"\n\
cat \"$APPDIR/usr/share/greeting.txt\"\n\
[ \"$1\" = sleep ] && exec sleep 600\n\
exit \"${EXIT_WITH:-7}\"\n";

/// Writes a payload for app `id` with a version marker `greeting`.
fn payload(id: &str, greeting: &str, comp: Compressor) -> Vec<u8> {
    let h = |mode| NodeHeader::new(mode, 0, 0, 1_700_000_000);
    let mut w = FilesystemWriter::default();
    w.set_compressor(FilesystemCompressor::new(comp, None).unwrap());
    w.push_file(Cursor::new(APPRUN.as_bytes().to_vec()), "AppRun", h(0o755))
        .unwrap();
    w.push_file(
        Cursor::new(b"[Desktop Entry]\n".to_vec()),
        format!("{id}.desktop"),
        h(0o644),
    )
    .unwrap();
    w.push_dir_all("usr/share", h(0o755)).unwrap();
    w.push_file(
        Cursor::new(greeting.as_bytes().to_vec()),
        "usr/share/greeting.txt",
        h(0o644),
    )
    .unwrap();
    w.push_file(Cursor::new(big_content()), "usr/share/big.bin", h(0o644))
        .unwrap();
    w.push_dir("usr/share/empty", h(0o555)).unwrap();
    w.push_symlink("greeting.txt", "usr/share/link.txt", h(0o777))
        .unwrap();
    let mut out = Cursor::new(Vec::new());
    w.write(&mut out).unwrap();
    out.into_inner()
}

/// An image at `dir/name`: the runtime, its digest section filled in, the payload.
fn image(dir: &Path, name: &str, id: &str, greeting: &str) -> PathBuf {
    image_with(dir, name, &payload(id, greeting, Compressor::Gzip), true)
}

fn image_with(dir: &Path, name: &str, payload: &[u8], record_digest: bool) -> PathBuf {
    let path = dir.join(name);
    fs::copy(env!("CARGO_BIN_EXE_runtime"), &path).unwrap();
    let f = File::options().read(true).write(true).open(&path).unwrap();
    let elf = Elf::read(&f).unwrap();
    assert_eq!(
        elf.payload_offset(),
        f.metadata().unwrap().len(),
        "runtime ends with its section headers"
    );
    f.write_all_at(b"AI\x02", 8).unwrap();
    if record_digest {
        let s = elf
            .section(&f, sections::PAYLOAD)
            .unwrap()
            .expect("digest section");
        let hex: String = Sha256::digest(payload)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        f.write_all_at(format!("sha256={hex}\n").as_bytes(), s.offset)
            .unwrap();
    }
    f.write_all_at(payload, elf.payload_offset()).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// Runs `img args` with a private HOME/XDG_CACHE_HOME under `home`.
fn run(img: &Path, home: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    // Another test thread may be between fork and exec with an image of ours still open for
    // writing (ETXTBSY): try again shortly.
    for _ in 0..50 {
        match cmd(img, home, args, env).output() {
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy => {
                std::thread::sleep(Duration::from_millis(20));
            }
            out => return out.unwrap(),
        }
    }
    panic!("{} stayed busy", img.display())
}

/// Spawns like [`run`], retrying on ETXTBSY.
fn spawn(c: &mut Command) -> std::process::Child {
    for _ in 0..50 {
        match c.spawn() {
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy => {
                std::thread::sleep(Duration::from_millis(20));
            }
            child => return child.unwrap(),
        }
    }
    panic!("stayed busy")
}

fn cmd(img: &Path, home: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut c = Command::new(img);
    c.args(args)
        .env_remove("APPIMAGE_EXTRACT_AND_RUN")
        .env_remove("TARGET_APPIMAGE")
        .env_remove("QMLBRIDGE_APPIMAGE_NO_FUSE")
        .env("HOME", home)
        .env("XDG_CACHE_HOME", home.join("cache"))
        .envs(env.iter().copied())
        .current_dir(home)
        .stdin(Stdio::null());
    c
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let end = Instant::now() + PATIENCE;
    while !cond() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

const NO_FUSE: (&str, &str) = ("QMLBRIDGE_APPIMAGE_NO_FUSE", "1");

mod payload_reading {
    use super::*;

    #[test]
    fn every_byte_reads_back_at_any_offset_gzip_and_zstd() {
        for comp in [Compressor::Gzip, Compressor::Zstd] {
            let dir = tempfile::tempdir().unwrap();
            // A prefix stands in for the runtime: the SquashFS is read at an offset.
            let mut bytes = vec![0xAA; 4099];
            bytes.extend(payload("t.App", "hello", comp));
            let path = dir.path().join("img");
            fs::write(&path, &bytes).unwrap();
            let img = Image::open(&path, 4099).unwrap();
            let i = (0..img.entries.len())
                .find(|&i| img.entries[i].path.ends_with("big.bin"))
                .unwrap();
            let Kind::File(data) = &img.entries[i].kind else {
                panic!("a file")
            };
            let want = big_content();
            assert_eq!(data.len, want.len() as u64);
            for (at, size) in [
                (0u64, 4096u32),
                (131_000, 5000),
                (262_144, 131_072),
                (999_990, 4096),
                (2_000_000, 10),
            ] {
                let got = img.read(data, at, size).unwrap();
                let lo = (at as usize).min(want.len());
                let hi = (at as usize + size as usize).min(want.len());
                assert_eq!(got, &want[lo..hi], "{comp:?} at {at} size {size}");
            }
        }
    }

    /// The payload of [`payload`] with `comp`, opened at an offset; the entries of big.bin (7 full
    /// blocks, its tail in a fragment) and greeting.txt (only a fragment, the same block).
    fn opened(dir: &Path, comp: Compressor) -> (Image, usize, usize) {
        let path = dir.join(format!("img-{comp:?}"));
        if !path.exists() {
            let mut bytes = vec![0x55; 777];
            bytes.extend(payload("t.App", "hello", comp));
            fs::write(&path, &bytes).unwrap();
        }
        let img = Image::open(&path, 777).unwrap();
        let find = |name: &str| {
            (0..img.entries.len())
                .find(|&i| img.entries[i].path.ends_with(name))
                .unwrap()
        };
        let (big, small) = (find("big.bin"), find("greeting.txt"));
        (img, big, small)
    }

    fn data(img: &Image, i: usize) -> &qmlbridge_appimage_runtime::squash::FileData {
        match &img.entries[i].kind {
            Kind::File(d) => d,
            other => panic!("{:?} is not a file", other),
        }
    }

    /// Reads at block boundaries, straddling one or two of them, running into the fragment tail,
    /// and the whole file; (offset, size).
    fn tricky_reads() -> Vec<(u64, u32)> {
        const B: u64 = 131_072;
        let mut reads = vec![
            (0, 1_000_003),
            (0, 2_000_000),
            (999_999, 100),
            (1_000_003, 1),
        ];
        for k in 1..8 {
            reads.extend([
                (k * B - 1, 2),
                (k * B - 4096, 131_072),
                (k * B, 131_072),
                (k * B + 65_536, 131_072),
                (k * B - 100, 300_000),
            ]);
        }
        reads
    }

    fn expect(want: &[u8], at: u64, size: u32) -> &[u8] {
        let lo = (at as usize).min(want.len());
        let hi = (at as usize + size as usize).min(want.len());
        &want[lo..hi]
    }

    #[test]
    fn cached_and_uncached_reads_are_byte_exact_across_blocks_and_fragments() {
        let dir = tempfile::tempdir().unwrap();
        let want = big_content();
        for comp in [Compressor::Gzip, Compressor::Zstd] {
            let (warm, big, small) = opened(dir.path(), comp);
            let d = data(&warm, big);
            assert!(
                d.len / 131_072 == 7 && !d.len.is_multiple_of(131_072),
                "big.bin has 7 full blocks and a tail"
            );
            for (at, size) in tricky_reads() {
                // Uncached: a fresh image decompresses every block this read touches.
                let (cold, _, _) = opened(dir.path(), comp);
                let got = cold.read(data(&cold, big), at, size).unwrap();
                assert_eq!(
                    got,
                    expect(&want, at, size),
                    "{comp:?} uncached {at}+{size}"
                );
                assert!(cold.blocks_decompressed() > 0 || got.is_empty());
                // Cached: the same read again on an image that holds every block already.
                warm.read(d, 0, 1_000_003).unwrap();
                let before = warm.blocks_decompressed();
                let got = warm.read(d, at, size).unwrap();
                assert_eq!(got, expect(&want, at, size), "{comp:?} cached {at}+{size}");
                assert_eq!(
                    warm.blocks_decompressed(),
                    before,
                    "{comp:?} {at}+{size} hit"
                );
            }
            // A file that is only a fragment: sliced out of its fragment block, uncached and cached.
            assert_eq!(warm.read(data(&warm, small), 0, 4096).unwrap(), b"hello");
            let before = warm.blocks_decompressed();
            assert_eq!(warm.read(data(&warm, small), 2, 2).unwrap(), b"ll");
            assert_eq!(warm.read(data(&warm, small), 0, 4096).unwrap(), b"hello");
            assert_eq!(
                warm.blocks_decompressed(),
                before,
                "the fragment block was cached"
            );
        }
    }

    #[test]
    fn a_cache_smaller_than_the_file_evicts_and_still_reads_exactly_from_many_threads() {
        let dir = tempfile::tempdir().unwrap();
        let want = big_content();
        for comp in [Compressor::Gzip, Compressor::Zstd] {
            let (img, big, small) = opened(dir.path(), comp);
            let img = img.with_cache_capacity(2);
            let reads = tricky_reads();
            std::thread::scope(|s| {
                for t in 0..4usize {
                    let (img, reads, want) = (&img, &reads, &want);
                    s.spawn(move || {
                        // Each thread walks the reads from another start, so blocks are evicted
                        // and decompressed again while other threads use them.
                        for k in 0..reads.len() * 2 {
                            let (at, size) = reads[(k * 7 + t * 13) % reads.len()];
                            let got = img.read(data(img, big), at, size).unwrap();
                            assert_eq!(got, expect(want, at, size), "{comp:?} {at}+{size}");
                            assert_eq!(img.read(data(img, small), 0, 64).unwrap(), b"hello");
                        }
                    });
                }
            });
            assert!(
                img.blocks_decompressed() > 9,
                "{comp:?}: a 2-block cache re-decompresses ({})",
                img.blocks_decompressed()
            );
        }
    }

    #[test]
    fn readers_of_the_same_block_at_once_decompress_it_once() {
        let dir = tempfile::tempdir().unwrap();
        let want = big_content();
        let (img, big, _) = opened(dir.path(), Compressor::Zstd);
        let threads = 8;
        let start = std::sync::Barrier::new(threads);
        std::thread::scope(|s| {
            for _ in 0..threads {
                let (img, start, want) = (&img, &start, &want);
                s.spawn(move || {
                    start.wait();
                    // Windows straddling two blocks, as the kernel's read-ahead sends them.
                    for at in (65_536..1_000_003).step_by(131_072) {
                        let got = img.read(data(img, big), at, 131_072).unwrap();
                        assert_eq!(got, expect(want, at, 131_072));
                    }
                });
            }
        });
        // 7 full blocks and the tail's fragment block, each decompressed by one thread only.
        assert_eq!(img.blocks_decompressed(), 8);
    }

    #[test]
    fn extraction_writes_the_tree_and_a_pattern_selects() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("img");
        fs::write(&path, payload("t.App", "hello", Compressor::Gzip)).unwrap();
        let img = Image::open(&path, 0).unwrap();
        let all = dir.path().join("all");
        fs::create_dir(&all).unwrap();
        let w = extract::extract(&img, &all, None, |_| ()).unwrap();
        assert_eq!(w.files, 4);
        assert_eq!(
            fs::read(all.join("usr/share/big.bin")).unwrap(),
            big_content()
        );
        assert_eq!(
            fs::read_link(all.join("usr/share/link.txt")).unwrap(),
            Path::new("greeting.txt")
        );
        assert_eq!(
            fs::metadata(all.join("AppRun")).unwrap().mode() & 0o777,
            0o755
        );
        assert_eq!(
            fs::metadata(all.join("usr/share/empty")).unwrap().mode() & 0o777,
            0o555
        );
        let some = dir.path().join("some");
        fs::create_dir(&some).unwrap();
        let mut seen = Vec::new();
        extract::extract(&img, &some, Some("usr/share/g*"), |p| {
            seen.push(p.to_owned())
        })
        .unwrap();
        assert!(some.join("usr/share/greeting.txt").is_file());
        assert!(!some.join("usr/share/big.bin").exists() && !some.join("AppRun").exists());
        assert_eq!(seen.last().unwrap(), Path::new("usr/share/greeting.txt"));
    }

    #[test]
    fn a_file_that_is_no_squashfs_is_refused_with_the_way_out() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("img");
        fs::write(&path, vec![7u8; 10_000]).unwrap();
        let err = Image::open(&path, 100).unwrap_err().to_string();
        assert!(
            err.contains("no SquashFS at offset 100") && err.contains("download it again"),
            "{err}"
        );
    }
}

mod interface {
    use super::*;

    #[test]
    fn offset_version_help_and_update_information() {
        let dir = tempfile::tempdir().unwrap();
        let img = image(dir.path(), "A.AppImage", "t.App", "hi");
        let runtime_len = fs::metadata(env!("CARGO_BIN_EXE_runtime")).unwrap().len();
        let out = run(&img, dir.path(), &["--appimage-offset"], &[]);
        assert_eq!(text(&out.stdout).trim(), runtime_len.to_string());
        let out = run(&img, dir.path(), &["--appimage-version"], &[]);
        assert!(text(&out.stdout).contains("qmlbridge AppImage runtime"));
        let out = run(&img, dir.path(), &["--appimage-help"], &[]);
        assert!(text(&out.stdout).contains("--appimage-extract-and-run"));
        let f = File::options().write(true).read(true).open(&img).unwrap();
        let upd = Elf::read(&f)
            .unwrap()
            .section(&f, sections::UPDATE_INFO)
            .unwrap()
            .unwrap();
        assert_eq!(upd.size, 1024);
        f.write_all_at(b"zsync|https://example.invalid/a.zsync", upd.offset)
            .unwrap();
        drop(f);
        let out = run(&img, dir.path(), &["--appimage-updateinformation"], &[]);
        assert_eq!(
            text(&out.stdout).trim(),
            "zsync|https://example.invalid/a.zsync"
        );
        let out = run(&img, dir.path(), &["--appimage-bogus"], &[]);
        assert!(!out.status.success());
        assert!(text(&out.stderr).contains("unknown runtime option --appimage-bogus"));
    }

    #[test]
    fn target_appimage_names_the_image_a_launcher_runs() {
        let dir = tempfile::tempdir().unwrap();
        let img = image(dir.path(), "A.AppImage", "t.App", "through a launcher");
        let target = img.to_str().unwrap();
        let runtime = Path::new(env!("CARGO_BIN_EXE_runtime"));
        let out = run(
            runtime,
            dir.path(),
            &["--appimage-extract-and-run"],
            &[("TARGET_APPIMAGE", target)],
        );
        assert_eq!(out.status.code(), Some(7), "{}", text(&out.stderr));
        let stdout = text(&out.stdout);
        assert!(
            stdout.contains(&format!("APPIMAGE={target}"))
                && stdout.ends_with("through a launcher"),
            "{stdout}"
        );
    }

    #[test]
    fn the_runtime_alone_says_it_has_no_payload() {
        let dir = tempfile::tempdir().unwrap();
        let out = run(
            Path::new(env!("CARGO_BIN_EXE_runtime")),
            dir.path(),
            &[],
            &[],
        );
        assert!(!out.status.success());
        assert!(
            text(&out.stderr).contains("no SquashFS payload"),
            "{}",
            text(&out.stderr)
        );
    }

    #[test]
    fn extract_writes_squashfs_root_in_the_working_directory() {
        let dir = tempfile::tempdir().unwrap();
        let img = image(dir.path(), "A.AppImage", "t.App", "hi");
        let out = run(&img, dir.path(), &["--appimage-extract", "*.txt"], &[]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert_eq!(
            fs::read_to_string(dir.path().join("squashfs-root/usr/share/greeting.txt")).unwrap(),
            "hi"
        );
        assert!(!dir.path().join("squashfs-root/AppRun").exists());
        assert!(text(&out.stdout).contains("squashfs-root/usr/share/greeting.txt"));
    }

    #[test]
    fn extract_and_run_passes_the_spec_variables_and_the_exit_status_then_cleans_up() {
        let dir = tempfile::tempdir().unwrap();
        let img = image(dir.path(), "A.AppImage", "t.App", "hi");
        let tmp = dir.path().join("tmp");
        fs::create_dir(&tmp).unwrap();
        let out = run(
            &img,
            dir.path(),
            &["--appimage-extract-and-run", "x", "y"],
            &[("TMPDIR", tmp.to_str().unwrap())],
        );
        let stdout = text(&out.stdout);
        assert_eq!(out.status.code(), Some(7), "{stdout}{}", text(&out.stderr));
        assert!(
            stdout.contains(&format!("APPIMAGE={}", img.display())),
            "{stdout}"
        );
        assert!(
            stdout.contains(&format!("APPDIR={}/appimage_extracted_", tmp.display())),
            "{stdout}"
        );
        assert!(
            stdout.contains(&format!("ARGV0={}", img.display())),
            "{stdout}"
        );
        assert!(
            stdout.contains(&format!("OWD={}", dir.path().display())),
            "{stdout}"
        );
        assert!(
            stdout.contains("ARGS=x y") && stdout.ends_with("hi"),
            "{stdout}"
        );
        wait_until("the extracted tree to be removed", || {
            fs::read_dir(&tmp).unwrap().next().is_none()
        });
        let out = run(
            &img,
            dir.path(),
            &[],
            &[
                ("APPIMAGE_EXTRACT_AND_RUN", "1"),
                ("EXIT_WITH", "0"),
                ("TMPDIR", tmp.to_str().unwrap()),
            ],
        );
        assert_eq!(out.status.code(), Some(0));
    }
}

mod cache {
    use super::*;

    fn cache_dirs(home: &Path) -> Vec<PathBuf> {
        let root = home.join("cache/qmlbridge/appimage");
        let mut v: Vec<PathBuf> = fs::read_dir(root)
            .map(|r| r.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        v.sort();
        v
    }

    #[test]
    fn the_first_start_extracts_once_and_later_starts_reuse_it() {
        let dir = tempfile::tempdir().unwrap();
        let img = image(dir.path(), "A.AppImage", "t.App", "v1");
        let out = run(&img, dir.path(), &["a"], &[NO_FUSE]);
        assert_eq!(out.status.code(), Some(7), "{}", text(&out.stderr));
        assert!(
            text(&out.stderr).contains("extracted the app once to"),
            "{}",
            text(&out.stderr)
        );
        let dirs = cache_dirs(dir.path());
        assert_eq!(dirs.len(), 1, "{dirs:?}");
        assert!(text(&out.stdout).contains(&format!("APPDIR={}", dirs[0].display())));
        let before = fs::metadata(&dirs[0]).unwrap();
        let out = run(&img, dir.path(), &[], &[NO_FUSE, ("EXIT_WITH", "3")]);
        assert_eq!(out.status.code(), Some(3));
        assert!(
            text(&out.stderr).contains("(extracted by an earlier start)"),
            "{}",
            text(&out.stderr)
        );
        let after = fs::metadata(&dirs[0]).unwrap();
        assert_eq!(
            (before.ino(), before.mtime(), before.mtime_nsec()),
            (after.ino(), after.mtime(), after.mtime_nsec())
        );
    }

    #[test]
    fn a_directory_in_the_way_without_marker_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let img = image(dir.path(), "A.AppImage", "t.App", "v1");
        assert_eq!(
            run(&img, dir.path(), &[], &[NO_FUSE]).status.code(),
            Some(7)
        );
        let cache = cache_dirs(dir.path()).pop().unwrap();
        // What an interrupted copy or a person's tinkering could leave: the tree, no marker.
        fs::remove_file(cache.join(".qmlbridge-appimage")).unwrap();
        fs::remove_file(cache.join("AppRun")).unwrap();
        let out = run(&img, dir.path(), &[], &[NO_FUSE]);
        assert_eq!(out.status.code(), Some(7), "{}", text(&out.stderr));
        assert!(text(&out.stderr).contains("extracted the app once"));
    }

    #[test]
    fn concurrent_first_starts_share_one_complete_tree() {
        let dir = tempfile::tempdir().unwrap();
        let img = image(dir.path(), "A.AppImage", "t.App", "v1");
        let children: Vec<_> = (0..4)
            .map(|_| {
                spawn(
                    cmd(&img, dir.path(), &[], &[NO_FUSE, ("EXIT_WITH", "0")])
                        .stdout(Stdio::piped())
                        .stderr(Stdio::piped()),
                )
            })
            .collect();
        for c in children {
            let out = c.wait_with_output().unwrap();
            assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
            assert!(text(&out.stdout).ends_with("v1"));
        }
        assert_eq!(
            cache_dirs(dir.path()).len(),
            1,
            "one tree, no temporary left"
        );
    }

    #[test]
    fn a_new_version_removes_the_old_versions_cache_unless_it_runs() {
        let dir = tempfile::tempdir().unwrap();
        let v1 = image(dir.path(), "v1.AppImage", "t.App", "v1");
        let other = image(dir.path(), "o.AppImage", "other.App", "o");
        let v2 = image(dir.path(), "v2.AppImage", "t.App", "v2");
        assert_eq!(run(&v1, dir.path(), &[], &[NO_FUSE]).status.code(), Some(7));
        assert_eq!(
            run(&other, dir.path(), &[], &[NO_FUSE]).status.code(),
            Some(7)
        );
        // v1 running (it holds its cache's lock) while v2 starts for the first time: kept.
        let mut running = spawn(
            cmd(&v1, dir.path(), &["sleep"], &[NO_FUSE])
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        );
        std::thread::sleep(Duration::from_millis(500));
        assert_eq!(run(&v2, dir.path(), &[], &[NO_FUSE]).status.code(), Some(7));
        assert_eq!(cache_dirs(dir.path()).len(), 3);
        running.kill().unwrap();
        running.wait().unwrap();
        // v1 no longer runs: the next first start of a new version removes it, not the other app's.
        let v3 = image(dir.path(), "v3.AppImage", "t.App", "v3");
        assert_eq!(run(&v3, dir.path(), &[], &[NO_FUSE]).status.code(), Some(7));
        let left = cache_dirs(dir.path());
        assert_eq!(left.len(), 2, "{left:?}");
        let apps: Vec<String> = left
            .iter()
            .map(|d| fs::read_to_string(d.join(".qmlbridge-appimage")).unwrap())
            .collect();
        assert!(
            apps.iter().any(|a| a.contains("app=other.App"))
                && apps.iter().any(|a| a.contains("app=t.App"))
        );
    }

    #[test]
    fn an_unwritable_cache_names_every_way_out() {
        let dir = tempfile::tempdir().unwrap();
        let img = image(dir.path(), "A.AppImage", "t.App", "v1");
        // A file where the cache directory must be: creating it fails, as on a read-only home.
        fs::write(dir.path().join("cache"), "not a directory").unwrap();
        let out = run(&img, dir.path(), &[], &[NO_FUSE]);
        assert_eq!(out.status.code(), Some(127));
        let err = text(&out.stderr);
        for want in [
            "QMLBRIDGE_APPIMAGE_NO_FUSE=1 is set",
            "cannot create the cache directory",
            "fuse3",
            "--appimage-extract-and-run",
        ] {
            assert!(err.contains(want), "{want:?} missing from: {err}");
        }
    }

    #[test]
    fn a_damaged_payload_is_not_extracted() {
        let dir = tempfile::tempdir().unwrap();
        let img = image(dir.path(), "A.AppImage", "t.App", "v1");
        let f = File::options().write(true).open(&img).unwrap();
        let len = f.metadata().unwrap().len();
        f.write_all_at(b"damage", len - 10).unwrap();
        drop(f);
        let out = run(&img, dir.path(), &[], &[NO_FUSE]);
        assert_eq!(out.status.code(), Some(127));
        let err = text(&out.stderr);
        assert!(
            err.contains("the image records") && err.contains("download it again"),
            "{err}"
        );
        assert!(
            cache_dirs(dir.path())
                .iter()
                .all(|d| !d.join(".qmlbridge-appimage").exists())
        );
    }
}

mod fuse {
    use super::*;

    fn mounts_under(tmp: &Path) -> Vec<String> {
        let info = fs::read_to_string("/proc/self/mountinfo").unwrap();
        let prefix = tmp.to_string_lossy().into_owned();
        info.lines()
            .filter_map(|l| l.split(' ').nth(4))
            .filter(|m| m.starts_with(&prefix))
            .map(str::to_owned)
            .collect()
    }

    /// FUSE works here, or the reason it does not (the test then says so and checks nothing).
    fn usable() -> bool {
        match launch::fuse_unusable() {
            None => true,
            Some(why) => {
                eprintln!("SKIP: FUSE cannot be used on this machine: {why}");
                false
            }
        }
    }

    #[test]
    fn the_app_runs_from_the_mount_which_goes_away_when_it_exits() {
        if !usable() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let img = image(dir.path(), "A.AppImage", "t.App", "mounted");
        let tmp = dir.path().join("tmp");
        fs::create_dir(&tmp).unwrap();
        let out = run(&img, dir.path(), &[], &[("TMPDIR", tmp.to_str().unwrap())]);
        let stdout = text(&out.stdout);
        assert_eq!(out.status.code(), Some(7), "{stdout}{}", text(&out.stderr));
        assert!(
            stdout.contains(&format!("APPDIR={}/.mount_A", tmp.display())),
            "{stdout}"
        );
        assert!(stdout.ends_with("mounted"));
        assert!(cache_is_empty(dir.path()), "FUSE mode must not extract");
        wait_until("the mount to go away", || mounts_under(&tmp).is_empty());
        wait_until("the mount point to be removed", || {
            fs::read_dir(&tmp).unwrap().next().is_none()
        });
    }

    #[test]
    fn sigkill_of_the_image_leaves_no_mount() {
        if !usable() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let img = image(dir.path(), "A.AppImage", "t.App", "mounted");
        let tmp = dir.path().join("tmp");
        fs::create_dir(&tmp).unwrap();
        let mut child = spawn(
            cmd(
                &img,
                dir.path(),
                &["sleep"],
                &[("TMPDIR", tmp.to_str().unwrap())],
            )
            .stdout(Stdio::null()),
        );
        wait_until("the mount", || mounts_under(&tmp).len() == 1);
        let mp = PathBuf::from(&mounts_under(&tmp)[0]);
        assert_eq!(
            fs::read(mp.join("usr/share/big.bin")).unwrap(),
            big_content()
        );
        // Absent names stay absent (the kernel caches them as negative entries), twice.
        for _ in 0..2 {
            let err = fs::metadata(mp.join("usr/share/absent")).unwrap_err();
            assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
        }
        let mut names: Vec<_> = fs::read_dir(mp.join("usr/share"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        assert_eq!(names, ["big.bin", "empty", "greeting.txt", "link.txt"]);
        assert_eq!(
            fs::read_link(mp.join("usr/share/link.txt")).unwrap(),
            Path::new("greeting.txt")
        );
        assert_eq!(
            fs::read_to_string(mp.join("usr/share/link.txt")).unwrap(),
            "mounted"
        );
        assert!(
            fs::write(mp.join("usr/share/greeting.txt"), "x").is_err(),
            "read-only"
        );
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        wait_until("the mount to go away after SIGKILL", || {
            mounts_under(&tmp).is_empty()
        });
        wait_until("the mount point to be removed", || !mp.exists());
    }

    #[test]
    fn appimage_mount_prints_the_mount_point_and_unmounts_on_sigint() {
        if !usable() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let img = image(dir.path(), "A.AppImage", "t.App", "mounted");
        let tmp = dir.path().join("tmp");
        fs::create_dir(&tmp).unwrap();
        let mut child = spawn(
            cmd(
                &img,
                dir.path(),
                &["--appimage-mount"],
                &[("TMPDIR", tmp.to_str().unwrap())],
            )
            .stdout(Stdio::piped()),
        );
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.take().unwrap()),
            &mut line,
        )
        .unwrap();
        let mp = PathBuf::from(line.trim_end());
        assert!(mp.starts_with(&tmp), "{}", mp.display());
        assert_eq!(
            fs::read_to_string(mp.join("usr/share/greeting.txt")).unwrap(),
            "mounted"
        );
        let status = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        assert!(child.wait().unwrap().success());
        assert!(mounts_under(&tmp).is_empty() && !mp.exists());
    }

    fn cache_is_empty(home: &Path) -> bool {
        !home.join("cache/qmlbridge").exists()
    }
}
