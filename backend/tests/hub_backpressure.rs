//! Backpressure (docs/contract.md §8): a subscriber that stops reading is disconnected once its
//! bounded queue is full; the others get every update, and it can resume with `Last-Event-ID`.

mod hub_support;

use hub_support::{PATIENCE, Server, config, subscriber, topics};
use qmlbridge_backend::config::mercure::MercureConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpSocket;

const UPDATES: usize = 300;

#[tokio::test]
async fn a_stalled_subscriber_is_disconnected_and_the_others_get_everything() {
    let server = Server::start(MercureConfig {
        subscriber_queue: 8,
        ..config()
    })
    .await;
    let token = subscriber(&[]);

    // The stalled one: a raw socket with a small receive buffer that reads nothing for now.
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stalled = socket.connect(server.addr).await.unwrap();
    let request = format!(
        "GET /.well-known/mercure{} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\n\r\n",
        topics(&["/t"]),
        server.addr
    );
    stalled.write_all(request.as_bytes()).await.unwrap();
    let mut fast = server.subscribe(&topics(&["/t"]), &token).await;
    hub_support::wait_until(|| server.hub.subscriber_count() == 2).await;

    let data = "x".repeat(16 * 1024);
    let reader = tokio::spawn(async move {
        let mut ids = Vec::new();
        for _ in 0..UPDATES {
            ids.push(fast.expect_event().await.id.unwrap());
        }
        ids
    });
    let mut published = Vec::new();
    for _ in 0..UPDATES {
        published.push(server.publish(&[("topic", "/t"), ("data", &data)]).await);
    }
    assert_eq!(
        reader.await.unwrap(),
        published,
        "the reading subscriber got every update in order"
    );
    hub_support::wait_until(|| server.hub.subscriber_count() == 0).await;

    // The stalled subscriber's response ends (chunked terminator or EOF) short of the total.
    let mut received = Vec::new();
    let ended = tokio::time::timeout(PATIENCE, async {
        let mut buf = vec![0; 64 * 1024];
        loop {
            match stalled.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => received.extend_from_slice(&buf[..n]),
            }
            if received.ends_with(b"\r\n0\r\n\r\n") {
                return;
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the stalled subscriber's stream did not end");
    let text = String::from_utf8_lossy(&received);
    let got = text.matches("\nid: ").count();
    assert!(
        got < UPDATES,
        "a stalled subscriber was not cut off ({got} events)"
    );
}
