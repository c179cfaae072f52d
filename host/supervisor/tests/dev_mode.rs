//! Dev mode through the library (docs/contract.md §9, "Modes", "`restart()`": Dev re-probes only).
//! Its own test binary with one test, because the mode comes from the process environment.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::*;
use qmlbridge_supervisor::{ConnectionState, Mode, Supervisor};

#[test]
fn dev_restart_probes_again_at_once() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    // SAFETY: this test binary runs this one test; nothing else reads the environment meanwhile.
    unsafe {
        std::env::set_var("BRIDGE_URL", &url);
        std::env::remove_var("BRIDGE_TOKEN");
    }
    let layout = Layout::empty();
    let mut opts = layout.options();
    // The next periodic probe is far beyond PATIENCE: only restart() can bring it Online.
    opts.probe_interval = Duration::from_secs(600);
    opts.offline_threshold = Duration::ZERO;
    let sup = Supervisor::start(opts);
    let snap = wait_state(&sup, "Offline: nothing listens", |s| {
        s.state == ConnectionState::Offline
    });
    assert_eq!(snap.mode, Mode::Dev);
    assert_eq!(snap.url, url);
    assert_eq!(snap.token.unwrap().expose(), "qmlbridge-dev-token");
    assert_eq!(snap.data_dir, None);

    let _server = KillOnDrop(
        Command::new(python())
            .arg(script("contract_backend.py"))
            .arg("serve")
            .env("PORT", port.to_string())
            .env("BRIDGE_TOKEN", "qmlbridge-dev-token")
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_until("the dev server answers", || {
        http_get(&url, "/healthz", None).is_ok()
    });
    let recorder = Recorder::start(&sup);
    sup.restart();
    wait_state(&sup, "Online after restart()", online);
    wait_until("the Online event is recorded", || {
        recorder.states().last() == Some(&ConnectionState::Online)
    });
    let states = recorder.states();
    assert!(
        states.ends_with(&[
            ConnectionState::Offline,
            ConnectionState::Connecting,
            ConnectionState::Online
        ]),
        "restart() from Offline shows Connecting, then the probe's result: {states:?}"
    );
    sup.shutdown();
}

/// Kills the dev server however the test ends (a failed assertion included).
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
