//! The floor under any hub on this machine: the same subscribers, the same paced updates, but
//! the "server" does nothing except one `write(2)` per subscriber, spread over two threads (the
//! backend's worker count). No HTTP parsing, no JWT, no selectors, no queues, no async runtime.
//! What it measures is the kernel's loopback TCP cost plus the subscribers' own, so the hub's
//! latency can be read as a ratio to it.
//!
//! Run in its own process (`hub_bench server floor`). Subscribers connect and send an HTTP
//! request (ignored, answered with an SSE head and a first comment); a connection whose first
//! line is `PUBLISH` is the control connection: each line on it is a sequence number to fan out.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;

use super::AnyResult;

const WORKERS: usize = 2;

pub fn server() -> AnyResult<()> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    println!("PORT {}", listener.local_addr()?.port());
    std::io::stdout().flush()?;
    let mut workers = Vec::new();
    for _ in 0..WORKERS {
        let (tx, rx) = mpsc::channel::<Msg>();
        std::thread::spawn(move || worker(rx));
        workers.push(tx);
    }
    let mut next = 0;
    for stream in listener.incoming() {
        let mut stream = stream?;
        stream.set_nodelay(true)?;
        let mut head = [0u8; 7];
        stream.peek(&mut head)?;
        if &head == b"PUBLISH" {
            let workers = workers.clone();
            std::thread::spawn(move || control(stream, workers));
            continue;
        }
        // Reads the request head (small: it arrives in one segment), then answers at once.
        let mut buf = [0u8; 4096];
        let _ = stream.read(&mut buf)?;
        stream.write_all(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n:\n",
        )?;
        let _ = workers[next % WORKERS].send(Msg::Subscriber(stream));
        next += 1;
    }
    Ok(())
}

enum Msg {
    Subscriber(TcpStream),
    Frame(std::sync::Arc<[u8]>),
}

fn worker(rx: mpsc::Receiver<Msg>) {
    let mut subscribers = Vec::new();
    for msg in rx {
        match msg {
            Msg::Subscriber(s) => subscribers.push(s),
            Msg::Frame(frame) => subscribers.retain_mut(|s| s.write_all(&frame).is_ok()),
        }
    }
}

fn control(stream: TcpStream, workers: Vec<mpsc::Sender<Msg>>) {
    for line in BufReader::new(stream).lines().skip(1) {
        let Ok(seq) = line else { return };
        let frame: std::sync::Arc<[u8]> = format!("data: {seq}\n\n").into_bytes().into();
        for w in &workers {
            let _ = w.send(Msg::Frame(frame.clone()));
        }
    }
}
