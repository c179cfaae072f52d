//! Reconnection (Mercure spec, "Reconnection, State Reconciliation and Event Sourcing"):
//! `Last-Event-ID` / `lastEventID` replay exactly the missed events from a bounded history.

mod hub_support;

use hub_support::{Server, Sse, config, subscriber, topics};
use qmlbridge_backend::config::mercure::MercureConfig;

/// Subscribes with a `Last-Event-ID` header.
async fn resume(server: &Server, query: &str, last: &str, token: &str) -> Sse {
    let response = server
        .subscribe_with(query, |r| {
            r.bearer_auth(token).header("last-event-id", last)
        })
        .await;
    assert_eq!(response.status(), 200);
    Sse::new(response)
}

fn header(sse: &Sse) -> &str {
    sse.response.headers()["last-event-id"].to_str().unwrap()
}

#[tokio::test]
async fn a_reconnect_replays_exactly_the_missed_events_then_goes_live() {
    let server = Server::start(config()).await;
    let token = subscriber(&["/private"]);
    let q = topics(&["/t", "/private"]);
    let mut first = server.subscribe(&q, &token).await;
    let seen = server.publish(&[("topic", "/t"), ("data", "seen")]).await;
    assert_eq!(
        first.expect_event().await.id.as_deref(),
        Some(seen.as_str())
    );
    drop(first);

    // Missed while disconnected: two of ours (one private we may see), one on another topic,
    // one private we may not see.
    let m1 = server.publish(&[("topic", "/t"), ("data", "m1")]).await;
    server
        .publish(&[("topic", "/elsewhere"), ("data", "other topic")])
        .await;
    let m2 = server
        .publish(&[("topic", "/private"), ("private", "on"), ("data", "m2")])
        .await;
    server
        .publish(&[
            ("topic", "/t"),
            ("topic", "/hidden"),
            ("private", "on"),
            ("data", "not ours"),
        ])
        .await;

    let mut again = resume(&server, &q, &seen, &token).await;
    assert_eq!(header(&again), seen);
    let live = server.publish(&[("topic", "/t"), ("data", "live")]).await;
    let mut events = Vec::new();
    for _ in 0..3 {
        let e = again.expect_event().await;
        events.push((e.id.unwrap(), e.data));
    }
    assert_eq!(
        events,
        [
            (m1, "m1".to_owned()),
            (m2, "m2".to_owned()),
            (live, "live".to_owned())
        ]
    );
}

#[tokio::test]
async fn the_header_wins_over_the_query_parameter() {
    let server = Server::start(config()).await;
    let token = subscriber(&[]);
    let a = server.publish(&[("topic", "/t"), ("data", "a")]).await;
    let b = server.publish(&[("topic", "/t"), ("data", "b")]).await;
    server.publish(&[("topic", "/t"), ("data", "c")]).await;

    let q = format!("{}&lastEventID={a}", topics(&["/t"]));
    let mut by_query = server.subscribe(&q, &token).await;
    assert_eq!(header(&by_query), a);
    assert_eq!(by_query.expect_event().await.data, "b");

    let mut by_header = resume(&server, &q, &b, &token).await;
    assert_eq!(header(&by_header), b);
    assert_eq!(by_header.expect_event().await.data, "c");
}

#[tokio::test]
async fn earliest_replays_the_whole_history_for_the_topics() {
    let server = Server::start(config()).await;
    let token = subscriber(&[]);
    for data in ["1", "x", "2"] {
        let topic = if data == "x" { "/other" } else { "/t" };
        server.publish(&[("topic", topic), ("data", data)]).await;
    }
    let mut sse = resume(&server, &topics(&["/t"]), "earliest", &token).await;
    assert_eq!(header(&sse), "earliest");
    assert_eq!(sse.expect_event().await.data, "1");
    assert_eq!(sse.expect_event().await.data, "2");
}

#[tokio::test]
async fn an_id_no_longer_in_the_bounded_history_is_reported_as_earliest() {
    let server = Server::start(MercureConfig {
        history_size: 3,
        ..config()
    })
    .await;
    let token = subscriber(&[]);
    let oldest = server.publish(&[("topic", "/t"), ("data", "0")]).await;
    for i in 1..5 {
        server
            .publish(&[("topic", "/t"), ("data", &i.to_string())])
            .await;
    }
    // The client compares the header with what it sent and refetches.
    let mut lost = resume(&server, &topics(&["/t"]), &oldest, &token).await;
    assert_eq!(header(&lost), "earliest");
    let mut unknown = resume(
        &server,
        &topics(&["/t"]),
        "urn:uuid:never-published",
        &token,
    )
    .await;
    assert_eq!(header(&unknown), "earliest");
    // Nothing is replayed for them; the next live update is the first event.
    server.publish(&[("topic", "/t"), ("data", "live")]).await;
    assert_eq!(lost.expect_event().await.data, "live");
    assert_eq!(unknown.expect_event().await.data, "live");
    // Only the last three are kept.
    let mut all = resume(&server, &topics(&["/t"]), "earliest", &token).await;
    for data in ["3", "4", "live"] {
        assert_eq!(all.expect_event().await.data, data);
    }
}

#[tokio::test]
async fn repeated_reconnects_during_publishing_lose_and_duplicate_nothing() {
    const TOTAL: usize = 300;
    let server = std::sync::Arc::new(Server::start(config()).await);
    let token = subscriber(&[]);
    let q = topics(&["/stream"]);
    let mut sse = server.subscribe(&q, &token).await;
    let publisher = tokio::spawn({
        let server = std::sync::Arc::clone(&server);
        async move {
            for i in 0..TOTAL {
                server
                    .publish(&[("topic", "/stream"), ("data", &i.to_string())])
                    .await;
                if i % 50 == 0 {
                    tokio::task::yield_now().await;
                }
            }
        }
    });
    let mut seen = Vec::with_capacity(TOTAL);
    while seen.len() < TOTAL {
        let event = sse.expect_event().await;
        seen.push(event.data.parse::<usize>().unwrap());
        // Drop the connection every 37 events and resume from the last id received.
        if seen.len() % 37 == 0 {
            let id = event.id.unwrap();
            sse = resume(&server, &q, &id, &token).await;
            assert_eq!(header(&sse), id, "the id is still in the history");
        }
    }
    publisher.await.unwrap();
    assert_eq!(seen, (0..TOTAL).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_replay_larger_than_the_subscriber_queue_disconnects_at_once() {
    let server = Server::start(MercureConfig {
        history_size: 10,
        subscriber_queue: 3,
        ..config()
    })
    .await;
    let token = subscriber(&[]);
    let mut ids = Vec::new();
    for i in 0..4 {
        ids.push(
            server
                .publish(&[("topic", "/t"), ("data", &i.to_string())])
                .await,
        );
    }
    let mut sse = resume(&server, &topics(&["/t"]), "earliest", &token).await;
    assert!(
        sse.expect_end().await.is_empty(),
        "the replay counts against the queue: nothing is sent, the stream ends"
    );
    assert_eq!(server.hub.subscriber_count(), 0);
    // Within the bound it replays as usual and stays live.
    let mut sse = resume(&server, &topics(&["/t"]), &ids[0], &token).await;
    for want in ["1", "2", "3"] {
        assert_eq!(sse.expect_event().await.data, want);
    }
    server.publish(&[("topic", "/t"), ("data", "live")]).await;
    assert_eq!(sse.expect_event().await.data, "live");
}

#[tokio::test]
async fn the_history_is_bounded_by_bytes_too() {
    let server = Server::start(MercureConfig {
        history_size: 100,
        history_max_bytes: 10_000,
        ..config()
    })
    .await;
    let token = subscriber(&[]);
    let big = "x".repeat(3_000);
    for i in 0..5 {
        server
            .publish(&[("topic", "/t"), ("id", &format!("u{i}")), ("data", &big)])
            .await;
    }
    let mut sse = resume(&server, &topics(&["/t"]), "earliest", &token).await;
    let newest: Vec<Option<String>> = vec![Some("u2".into()), Some("u3".into()), Some("u4".into())];
    let mut seen = Vec::new();
    for _ in 0..3 {
        seen.push(sse.expect_event().await.id);
    }
    assert_eq!(
        seen, newest,
        "the oldest were evicted to stay under 10,000 bytes"
    );
    // `u1` is gone: resuming from it replays nothing and says so.
    let gone = resume(&server, &topics(&["/t"]), "u1", &token).await;
    assert_eq!(header(&gone), "earliest");
}
