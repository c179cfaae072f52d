//! Live updates go out in commit order (`docs/contract.md` §8): under concurrent PATCHes of one
//! row, the last update a subscriber receives is the row as stored. Each round sends several
//! PATCHes at once (on a database in `/dev/shm` when there is one, where commits are fastest and
//! a publish racing its commit is likeliest), then compares the stream with the database.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::sync::{Arc, Barrier};

use support::{Workdir, connect};

const ROUNDS: usize = 150;
const WRITERS: usize = 6;

/// Reads SSE events until one whose data has `needle`... and returns the titles of every
/// update event read on the way, in order.
struct Events {
    lines: std::io::Lines<BufReader<std::net::TcpStream>>,
}

impl Events {
    /// The title of the next update event.
    fn next_title(&mut self) -> String {
        loop {
            let line = self.lines.next().expect("stream ended").expect("read SSE");
            if let Some(data) = line.strip_prefix("data: ") {
                let item: serde_json::Value = serde_json::from_str(data).expect("update JSON");
                return item["title"].as_str().expect("title").to_owned();
            }
        }
    }
}

#[test]
fn concurrent_writes_are_published_in_commit_order() {
    let w = Workdir::new();
    let shm = std::path::Path::new("/dev/shm");
    let db_dir = if shm.is_dir() {
        tempfile::tempdir_in(shm).unwrap()
    } else {
        tempfile::tempdir().unwrap()
    };
    let url = format!("sqlite://{}/data.sqlite", db_dir.path().display());
    let mut cmd = w.command(&["serve"]);
    cmd.env("DATABASE_URL", &url);
    let server = Arc::new(support::Server::start(cmd));

    let created = server.api("POST", "/api/items", Some(r#"{"title":"start"}"#));
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.json()["id"].as_i64().unwrap();
    let path = format!("/api/items/{id}");

    let mut sse = connect(server.addr);
    let req = format!(
        "GET /.well-known/mercure?topic={path} HTTP/1.1\r\nHost: {}\r\n\r\n",
        server.addr
    );
    sse.write_all(req.as_bytes()).unwrap();
    let mut events = Events {
        lines: BufReader::new(sse).lines(),
    };

    let mut stale = Vec::new();
    for round in 0..ROUNDS {
        let barrier = Arc::new(Barrier::new(WRITERS));
        let writers: Vec<_> = (0..WRITERS)
            .map(|k| {
                let (server, barrier, path) = (server.clone(), barrier.clone(), path.clone());
                std::thread::spawn(move || {
                    let body = format!(r#"{{"title":"round {round} writer {k}"}}"#);
                    barrier.wait();
                    let resp = server.api("PATCH", &path, Some(&body));
                    assert_eq!(resp.status, 200, "{}", resp.body);
                })
            })
            .collect();
        for writer in writers {
            writer.join().unwrap();
        }
        let stored = server.api("GET", &path, None).json()["title"]
            .as_str()
            .unwrap()
            .to_owned();
        let mut last = String::new();
        for _ in 0..WRITERS {
            last = events.next_title();
            assert!(
                last.starts_with(&format!("round {round} ")),
                "round {round}: update {last:?} out of its round"
            );
        }
        if last != stored {
            stale.push(format!(
                "round {round}: stored {stored:?}, last published {last:?}"
            ));
        }
    }
    assert!(stale.is_empty(), "the live view ended stale: {stale:#?}");
}
