//! `make bench`'s numbers for `qmlbridge dev` (scripts/bench-dev.sh generates the app and sets
//! `QMLBRIDGE_DEV_APP`): a generated app's edit loop under Xvfb, debug builds as in development.
//!
//! - QML save → the new title on the X server (what the developer sees), and the host's own
//!   reload time (window deleted, cache cleared, file read, window created): target ≤ 300 ms.
//! - Backend save → new backend Online, split into the cargo build and the swap (stop, migrate,
//!   spawn on the held socket, ready; from the host's request to Online): target ≤ 50 ms for the
//!   swap.
//!
//! Prints one line per measurement with the p50, the spread and the ratio to the target; asserts
//! nothing about speed.

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use support::*;

const RUNS_QML: usize = 15;
const RUNS_BACKEND: usize = 7;

fn p50(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn spread(v: &[f64]) -> String {
    let min = v.iter().copied().fold(f64::INFINITY, f64::min);
    let max = v.iter().copied().fold(0.0, f64::max);
    format!("min {min:.1}, max {max:.1}")
}

fn line(what: &str, values: Vec<f64>, unit: &str, target: Option<f64>) {
    let spread = spread(&values);
    let runs = values.len();
    let mid = p50(values);
    match target {
        Some(t) => println!(
            "dev: {what}: p50 {mid:.1} {unit} of {runs} ({spread}; target <= {t} {unit}, ratio {:.2})",
            mid / t
        ),
        None => println!("dev: {what}: p50 {mid:.1} {unit} of {runs} ({spread})"),
    }
}

/// The number after `marker` in `line` ("... swapped in 23.6 ms ...").
fn number_after(line: &str, marker: &str) -> f64 {
    let rest = &line[line.find(marker).expect(marker) + marker.len()..];
    rest.split_whitespace().next().unwrap().parse().unwrap()
}

fn main() {
    let app = app();
    let display = Display::start();
    let data = tempfile::tempdir().unwrap();
    let session = Session::start(
        &app,
        &display,
        data.path(),
        &[],
        &[("BRIDGE_TOKEN", "bench")],
    );
    session.online(0);
    session
        .out
        .wait_from(0, "qml loaded", |l| l.starts_with("[dev] qml loaded in "));
    let main_qml = app.join("qml/Main.qml");
    let mut title = title_of(&main_qml);

    let (mut seen, mut reload) = (Vec::new(), Vec::new());
    for i in 0..RUNS_QML {
        // Let the previous reload's window settle, as between two real saves.
        std::thread::sleep(Duration::from_millis(300));
        let next = format!("Bench {i}");
        let mark = session.out.len();
        let t0 = Instant::now();
        edit(
            &main_qml,
            &format!("title: qsTr(\"{title}\")"),
            &format!("title: qsTr(\"{next}\")"),
        );
        while !display.titles().iter().any(|t| t.starts_with(&next)) {
            assert!(t0.elapsed() < PATIENCE, "no new title");
        }
        seen.push(t0.elapsed().as_secs_f64() * 1e3);
        let (_, done) = session.out.wait_from(mark, "qml loaded", |l| {
            l.starts_with("[dev] qml loaded in ")
        });
        reload.push(number_after(&done, "qml loaded in "));
        title = next;
    }
    line(
        "QML save -> new title on the X server",
        seen,
        "ms",
        Some(300.0),
    );
    line(
        "QML reload in the host (delete, clear cache, create)",
        reload,
        "ms",
        None,
    );

    let lib = app.join("backend/src/lib.rs");
    let (mut build, mut swap, mut total) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..RUNS_BACKEND {
        let mark = session.out.len();
        let t0 = Instant::now();
        append(&lib, &format!("// bench save {i}\n"));
        let (_, built) = session.out.wait_from(mark, "backend built", |l| {
            l.starts_with("[dev] backend built in ")
        });
        let (_, swapped) = session
            .out
            .wait_from(mark, "swapped in", |l| l.contains(": swapped in "));
        total.push(t0.elapsed().as_secs_f64());
        build.push(number_after(&built, "backend built in "));
        swap.push(number_after(&swapped, "swapped in "));
    }
    line("backend save -> new backend Online", total, "s", None);
    line(
        "backend build (cargo, debug, incremental)",
        build,
        "s",
        None,
    );
    line(
        "backend swap (asked -> Online on the held socket)",
        swap,
        "ms",
        Some(50.0),
    );
    drop(session);
}
