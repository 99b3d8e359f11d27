//! Cursor pagination: lazy, `after` = last id, or the `next_page` token.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use futures_util::StreamExt;
use http::Method;
use oai_transport::RequestBuilder;
use serde::Deserialize;
use serde_json::json;
use support::*;
use wiremock::matchers::{method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[derive(Debug, Deserialize, PartialEq)]
struct Item {
    id: String,
}

async fn three_pages() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/things"))
        .and(query_param_is_missing("after"))
        .and(query_param("limit", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "object": "list", "data": [{"id": "a"}, {"id": "b"}], "first_id": "a", "last_id": "b", "has_more": true
        })))
        .mount(&server)
        .await;
    Mock::given(path("/v1/things"))
        .and(query_param("after", "b"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            // no last_id: the cursor comes from the last item
            "object": "list", "data": [{"id": "c"}, {"id": "d"}], "has_more": true
        })))
        .mount(&server)
        .await;
    Mock::given(path("/v1/things"))
        .and(query_param("after", "d"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "object": "list", "data": [{"id": "e"}], "last_id": "e", "has_more": false
        })))
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn pages_are_fetched_only_when_asked() {
    let server = three_pages().await;
    let pages = RequestBuilder::new(transport(&server), Method::GET, "/things")
        .query("limit", 2)
        .paginate::<Item>()
        .unwrap();
    let mut items = pages.items();
    let first = items.next().await.unwrap().unwrap();
    assert_eq!(first.id, "a");
    assert_eq!(
        hits(&server).await,
        1,
        "one page fetched for the first item"
    );
    let _ = items.next().await.unwrap().unwrap();
    assert_eq!(
        hits(&server).await,
        1,
        "second item comes from the same page"
    );
    let third = items.next().await.unwrap().unwrap();
    assert_eq!(third.id, "c");
    assert_eq!(hits(&server).await, 2);
    let rest: Vec<_> = items.map(|r| r.unwrap().id).collect().await;
    assert_eq!(rest, ["d", "e"]);
    assert_eq!(hits(&server).await, 3, "no request after has_more=false");
}

#[tokio::test]
async fn collect_all_and_page_cursors() {
    let server = three_pages().await;
    let t = transport(&server);
    let all = RequestBuilder::new(t.clone(), Method::GET, "/things")
        .query("limit", 2)
        .paginate::<Item>()
        .unwrap()
        .collect_all()
        .await
        .unwrap();
    assert_eq!(
        all.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(),
        ["a", "b", "c", "d", "e"]
    );
    let mut pages = RequestBuilder::new(t, Method::GET, "/things")
        .query("limit", 2)
        .paginate::<Item>()
        .unwrap();
    let p1 = pages.next().await.unwrap().unwrap();
    assert!(p1.has_more);
    assert_eq!(
        p1.next_cursor(),
        Some(oai_transport::Cursor::After("b".into()))
    );
}

#[tokio::test]
async fn next_page_token_style() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/usage"))
        .and(query_param_is_missing("page"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "object": "page", "data": [{"id": "1"}], "has_more": true, "next_page": "page_2"
        })))
        .mount(&server)
        .await;
    Mock::given(path("/v1/usage"))
        .and(query_param("page", "page_2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "object": "page", "data": [{"id": "2"}], "has_more": false, "next_page": null
        })))
        .mount(&server)
        .await;
    let all = RequestBuilder::new(transport(&server), Method::GET, "/usage")
        .paginate::<Item>()
        .unwrap()
        .collect_all()
        .await
        .unwrap();
    assert_eq!(all.len(), 2);
}

#[tokio::test]
async fn repeated_cursor_stops_with_an_error() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/loop"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": [{"id": "same"}], "last_id": "same", "has_more": true
        })))
        .mount(&server)
        .await;
    let r = RequestBuilder::new(transport(&server), Method::GET, "/loop")
        .paginate::<Item>()
        .unwrap()
        .collect_all()
        .await;
    assert!(r.is_err());
    assert_eq!(hits(&server).await, 2);
}

#[tokio::test]
async fn a_failing_page_ends_the_stream_with_its_error() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/things"))
        .respond_with(
            ResponseTemplate::new(404).set_body_json(json!({"error": {"message": "gone"}})),
        )
        .mount(&server)
        .await;
    let mut items = RequestBuilder::new(transport(&server), Method::GET, "/things")
        .paginate::<Item>()
        .unwrap()
        .items();
    let e = items.next().await.unwrap().unwrap_err();
    assert!(e.is_api());
    assert!(items.next().await.is_none());
}

/// A server whose cursors cycle `a, b, a, b, ...`: the page after no cursor
/// names `a`, the page after `a` names `b`, the page after `b` names `a`.
async fn cycling_server() -> MockServer {
    let server = MockServer::start().await;
    for (after, items, next) in [
        (None, ["1", "2"], "a"),
        (Some("a"), ["3", "4"], "b"),
        (Some("b"), ["5", "6"], "a"),
    ] {
        let mock = Mock::given(path("/v1/cycle"));
        let mock = match after {
            None => mock.and(query_param_is_missing("after")),
            Some(a) => mock.and(query_param("after", a)),
        };
        mock.respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "object": "list", "data": [{"id": items[0]}, {"id": items[1]}], "last_id": next, "has_more": true
        })))
        .mount(&server)
        .await;
    }
    server
}

#[tokio::test]
async fn a_cursor_cycle_ends_the_walk_with_a_protocol_error() {
    let server = cycling_server().await;
    let t = transport(&server);
    // Bounded in time so that an endless walk fails instead of hanging.
    let r = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        RequestBuilder::new(t.clone(), Method::GET, "/cycle")
            .paginate::<Item>()
            .unwrap()
            .collect_all(),
    )
    .await
    .expect("the walk never ended");
    let e = r.unwrap_err();
    assert_eq!(e.kind(), oai_transport::ErrorKind::Protocol, "{e}");
    assert!(e.to_string().contains("cursor repeated"), "{e}");
    assert_eq!(hits(&server).await, 3, "no page fetched twice");
    // Page by page: the three distinct pages, then the error, then the end.
    let mut pages = RequestBuilder::new(t, Method::GET, "/cycle")
        .paginate::<Item>()
        .unwrap();
    let mut ids = Vec::new();
    for _ in 0..3 {
        let page = pages.next().await.unwrap().unwrap();
        ids.extend(page.data.into_iter().map(|i| i.id));
    }
    assert_eq!(ids, ["1", "2", "3", "4", "5", "6"]);
    assert!(pages.next().await.unwrap().unwrap_err().is_protocol());
    assert!(pages.next().await.is_none());
}

/// A list that never ends: every page names a fresh cursor.
struct Forever;

impl wiremock::Respond for Forever {
    fn respond(&self, request: &wiremock::Request) -> ResponseTemplate {
        let n: u64 = request
            .url
            .query_pairs()
            .find(|(k, _)| k == "after")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        let data: Vec<_> = (1..=3)
            .map(|i| json!({"id": (n * 3 + i).to_string()}))
            .collect();
        ResponseTemplate::new(200).set_body_json(json!({
            "object": "list", "data": data, "last_id": (n + 1).to_string(), "has_more": true
        }))
    }
}

async fn forever_server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(path("/v1/forever"))
        .respond_with(Forever)
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn max_pages_bounds_an_endless_list() {
    let server = forever_server().await;
    let mut pages = RequestBuilder::new(transport(&server), Method::GET, "/forever")
        .paginate::<Item>()
        .unwrap()
        .max_pages(5);
    for _ in 0..5 {
        assert_eq!(pages.next().await.unwrap().unwrap().data.len(), 3);
    }
    let e = pages.next().await.unwrap().unwrap_err();
    assert!(e.is_limit(), "{e}");
    assert!(pages.next().await.is_none());
    assert_eq!(hits(&server).await, 5, "the sixth page is never fetched");

    let e = RequestBuilder::new(transport(&server), Method::GET, "/forever")
        .paginate::<Item>()
        .unwrap()
        .max_pages(4)
        .collect_all()
        .await
        .unwrap_err();
    assert!(e.is_limit(), "{e}");
}

#[tokio::test]
async fn max_items_bounds_collect_all_and_the_item_stream() {
    let server = forever_server().await;
    let e = RequestBuilder::new(transport(&server), Method::GET, "/forever")
        .paginate::<Item>()
        .unwrap()
        .max_items(7)
        .collect_all()
        .await
        .unwrap_err();
    assert!(e.is_limit(), "{e}");
    assert_eq!(
        hits(&server).await,
        3,
        "pages of 3: the eighth item is on the third"
    );

    let items: Vec<_> = RequestBuilder::new(transport(&server), Method::GET, "/forever")
        .paginate::<Item>()
        .unwrap()
        .items()
        .max_items(4)
        .collect()
        .await;
    assert_eq!(items.len(), 5);
    let ids: Vec<_> = items[..4]
        .iter()
        .map(|r| r.as_ref().unwrap().id.as_str())
        .collect();
    assert_eq!(ids, ["1", "2", "3", "4"]);
    assert!(items[4].as_ref().unwrap_err().is_limit());

    // A list shorter than the limit is read whole.
    let server = three_pages().await;
    let all = RequestBuilder::new(transport(&server), Method::GET, "/things")
        .query("limit", 2)
        .paginate::<Item>()
        .unwrap()
        .max_items(5)
        .max_pages(3)
        .collect_all()
        .await
        .unwrap();
    assert_eq!(all.len(), 5);
}

/// A page whose item does not decode names the item's path.
#[tokio::test]
async fn an_undecodable_item_names_its_path() {
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Model {
        id: String,
        created: u64,
    }
    let server = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::path("/v1/models"))
        .respond_with(
            wiremock::ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "object": "list",
                "data": [{"id": "a", "created": 1}, {"id": "b", "created": -1}],
                "has_more": false
            })),
        )
        .mount(&server)
        .await;
    let t = support::transport(&server);
    let e = oai_transport::paginate::fetch_page::<Model>(
        &t,
        &oai_transport::Request::new(http::Method::GET, "/models"),
    )
    .await
    .unwrap_err();
    let f = e.decode_failure_details().unwrap();
    assert_eq!(f.path(), Some("$.data[1].created"));
    assert_eq!(f.reason(), "invalid value: integer, expected u64");
    assert!(
        e.to_string()
            .contains("at $.data[1].created: invalid value"),
        "{e}"
    );
}
