//! Opening the connection: the URL, the headers, TLS, the handshake.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use oai_transport::http::{HeaderMap, HeaderName, HeaderValue, header};
use tokio_tungstenite::Connector;
use tokio_tungstenite::tungstenite::Error as WsError;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use url::Url;

use super::error::{RealtimeError, Scrubber, excerpt};
use super::limits::RealtimeLimits;
use super::session::RealtimeSession;

/// Where and how to connect, worked out from a client's configuration or
/// from an ephemeral secret.
pub(crate) struct Target {
    pub(crate) url: Url,
    pub(crate) headers: HeaderMap,
    pub(crate) scrub: Scrubber,
}

/// The realtime URL from `probe`, the HTTP URL of `/realtime` under the base
/// URL with the configuration's own query pairs (Azure's `api-version`).
pub(crate) fn realtime_url(
    mut url: Url,
    azure: bool,
    model: Option<&str>,
) -> Result<Url, RealtimeError> {
    let scheme = match url.scheme() {
        "https" => "wss",
        "http" => "ws",
        other => {
            return Err(config_error(format!(
                "the base URL scheme {other:?} has no WebSocket form"
            )));
        }
    };
    if url.set_scheme(scheme).is_err() {
        return Err(config_error(
            "the base URL has no WebSocket form".to_owned(),
        ));
    }
    let path = url.path().to_owned();
    // Azure's classic endpoint names the deployment in the query; the v1
    // endpoint (`.../openai/v1`) takes the model like OpenAI.
    let azure_classic = azure && !path.trim_end_matches("/realtime").ends_with("/openai/v1");
    let mut deployment = None;
    if azure_classic {
        if let Some((prefix, rest)) = path.split_once("/deployments/") {
            let name = rest.trim_end_matches("/realtime").to_owned();
            if name.is_empty() || name.contains(['/', '%']) {
                return Err(config_error(
                    "the Azure deployment in the base URL cannot name a realtime deployment"
                        .to_owned(),
                ));
            }
            url.set_path(&format!("{prefix}/realtime"));
            deployment = Some(name);
        } else {
            deployment = model.map(str::to_owned);
        }
        if deployment.is_none() {
            return Err(config_error(
                "Azure realtime needs a deployment: give the model (the deployment's name)"
                    .to_owned(),
            ));
        }
    }
    {
        let mut pairs = url.query_pairs_mut();
        match (&deployment, model) {
            (Some(d), _) => {
                pairs.append_pair("deployment", d);
            }
            (None, Some(m)) => {
                pairs.append_pair("model", m);
            }
            (None, None) => {}
        }
    }
    if url.query() == Some("") {
        url.set_query(None);
    }
    Ok(url)
}

pub(crate) fn config_error(message: String) -> RealtimeError {
    RealtimeError::Config(crate::Error::config(message))
}

/// The headers of the handshake: the credential, then the configuration's
/// own (organization, project, custom), then the caller's. The scrubber is
/// `scrub` knowing also the credential and the value of every sensitive
/// header sent, so that none of them can come back in an error.
pub(crate) fn headers(
    credential: Option<(HeaderName, HeaderValue)>,
    config_headers: &HeaderMap,
    extra: &HeaderMap,
    scrub: Scrubber,
) -> (HeaderMap, Scrubber) {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::USER_AGENT,
        HeaderValue::from_static(oai_transport::USER_AGENT),
    );
    let mut scrub = scrub;
    if let Some((name, value)) = credential {
        let bytes = value.as_bytes();
        let key = bytes.strip_prefix(b"Bearer ").unwrap_or(bytes);
        if let Ok(key) = std::str::from_utf8(key) {
            scrub = scrub.with_secret(key);
        }
        headers.insert(name, value);
    }
    for (name, value) in config_headers.iter().chain(extra) {
        if (value.is_sensitive() || oai_transport::redact::is_sensitive(name))
            && let Ok(text) = std::str::from_utf8(value.as_bytes())
        {
            let text = text.strip_prefix("Bearer ").unwrap_or(text);
            scrub = scrub.with_secret(text);
        }
        headers.insert(name.clone(), value.clone());
    }
    (headers, scrub)
}

/// The TLS configuration: rustls with the ring provider and the platform's
/// root certificates, built once.
fn tls_config() -> Result<Arc<rustls::ClientConfig>, RealtimeError> {
    static CONFIG: OnceLock<Result<Arc<rustls::ClientConfig>, String>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let mut roots = rustls::RootCertStore::empty();
            for cert in rustls_native_certs::load_native_certs().certs {
                let _ = roots.add(cert);
            }
            if roots.is_empty() {
                return Err("no root certificate could be loaded from the platform".to_owned());
            }
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map(|b| Arc::new(b.with_root_certificates(roots).with_no_client_auth()))
                .map_err(|e| format!("TLS could not be configured: {e}"))
        })
        .clone()
        .map_err(RealtimeError::Connect)
}

/// Connects to `target` and starts the session.
pub(crate) async fn open(
    target: Target,
    limits: RealtimeLimits,
    connect_timeout: Duration,
) -> Result<RealtimeSession, RealtimeError> {
    let Target {
        url,
        headers,
        scrub,
    } = target;
    let connector = match url.scheme() {
        "wss" => Connector::Rustls(tls_config()?),
        _ => Connector::Plain,
    };
    let mut request = url
        .as_str()
        .into_client_request()
        .map_err(|e| config_error(format!("the realtime URL cannot be used: {e}")))?;
    for (name, value) in &headers {
        request.headers_mut().insert(name.clone(), value.clone());
    }
    let ws_config = WebSocketConfig::default()
        .max_frame_size(Some(limits.get_max_frame_bytes()))
        .max_message_size(Some(limits.get_max_message_bytes()));
    let connecting = tokio_tungstenite::connect_async_tls_with_config(
        request,
        Some(ws_config),
        true,
        Some(connector),
    );
    let connect_timeout = oai_transport::clamp_duration(connect_timeout);
    match tokio::time::timeout(connect_timeout, connecting).await {
        Err(_) => Err(RealtimeError::ConnectTimeout(connect_timeout)),
        Ok(Err(e)) => Err(handshake_error(e, &scrub)),
        Ok(Ok((ws, _response))) => Ok(RealtimeSession::start(ws, limits, scrub)),
    }
}

/// The longest request id kept from a refused handshake.
const MAX_REQUEST_ID: usize = 128;

/// The `x-request-id` of a refused handshake, when it is a plausible id (1 to
/// 128 of `A-Z a-z 0-9 _ -`) holding no piece of a credential.
fn request_id(value: &[u8], scrub: &Scrubber) -> Option<String> {
    let plausible = !value.is_empty()
        && value.len() <= MAX_REQUEST_ID
        && value
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'));
    let id = std::str::from_utf8(value).ok().filter(|_| plausible)?;
    matches!(scrub.scrub(id), std::borrow::Cow::Borrowed(_)).then(|| id.to_owned())
}

pub(crate) fn handshake_error(e: WsError, scrub: &Scrubber) -> RealtimeError {
    match e {
        WsError::Http(response) => {
            let request_id = response
                .headers()
                .get("x-request-id")
                .and_then(|v| request_id(v.as_bytes(), scrub));
            let body = response
                .body()
                .as_deref()
                .map(|b| oai_transport::redact::single_line(&scrub.excerpt(b, 200)).into_owned())
                .filter(|b| !b.is_empty());
            RealtimeError::Handshake {
                status: response.status().as_u16(),
                request_id,
                body,
            }
        }
        other => RealtimeError::Connect(excerpt(scrub, &other.to_string(), 300)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    #[test]
    fn urls() {
        let table: &[(&str, bool, Option<&str>, Option<&str>)] = &[
            (
                "https://api.openai.com/v1/realtime",
                false,
                Some("gpt-realtime"),
                Some("wss://api.openai.com/v1/realtime?model=gpt-realtime"),
            ),
            (
                "http://127.0.0.1:9/v1/realtime",
                false,
                Some("a b&c"),
                Some("ws://127.0.0.1:9/v1/realtime?model=a+b%26c"),
            ),
            (
                "https://api.openai.com/v1/realtime",
                false,
                None,
                Some("wss://api.openai.com/v1/realtime"),
            ),
            (
                "https://r.openai.azure.com/openai/realtime?api-version=2025-04-01-preview",
                true,
                Some("my-rt"),
                Some(
                    "wss://r.openai.azure.com/openai/realtime?api-version=2025-04-01-preview&deployment=my-rt",
                ),
            ),
            (
                "https://r.openai.azure.com/openai/deployments/fixed/realtime?api-version=v",
                true,
                Some("ignored"),
                Some("wss://r.openai.azure.com/openai/realtime?api-version=v&deployment=fixed"),
            ),
            (
                "https://r.openai.azure.com/openai/v1/realtime",
                true,
                Some("gpt-realtime"),
                Some("wss://r.openai.azure.com/openai/v1/realtime?model=gpt-realtime"),
            ),
            (
                "https://r.openai.azure.com/openai/realtime?api-version=v",
                true,
                None,
                None,
            ),
        ];
        for (probe, azure, model, want) in table {
            let got = realtime_url(url(probe), *azure, *model);
            match want {
                Some(want) => assert_eq!(got.unwrap().as_str(), *want, "{probe}"),
                None => assert!(matches!(got, Err(RealtimeError::Config(_))), "{probe}"),
            }
        }
    }

    #[test]
    fn headers_keep_the_credential_sensitive_and_scrub_it() {
        let mut value = HeaderValue::from_static("Bearer sk-hdr-1");
        value.set_sensitive(true);
        let mut config = HeaderMap::new();
        config.insert("openai-project", HeaderValue::from_static("proj_1"));
        let mut secret_header = HeaderValue::from_static("hdr-secret-value-42");
        secret_header.set_sensitive(true);
        let mut extra = HeaderMap::new();
        extra.insert("x-portkey-api-key", secret_header);
        let (h, scrub) = headers(
            Some((header::AUTHORIZATION, value)),
            &config,
            &extra,
            Scrubber::new(),
        );
        assert!(h[header::AUTHORIZATION].is_sensitive());
        assert_eq!(h["openai-project"], "proj_1");
        assert_eq!(scrub.scrub("bad key sk-hdr-1!"), "bad key [REDACTED]!");
        assert_eq!(
            scrub.scrub("echo hdr-secret-value-42 and proj_1"),
            "echo [REDACTED] and proj_1"
        );
        assert!(!format!("{scrub:?}").contains("sk-hdr-1"));
    }
}
