//! Credentials: a static key or an async provider, and the header they become.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use http::{HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString, zeroize::Zeroizing};

use crate::error::{Error, Result};

/// A boxed future returned by [`CredentialProvider::credential`].
pub type CredentialFuture<'a> = Pin<Box<dyn Future<Output = Result<SecretString>> + Send + 'a>>;

/// Supplies a credential before every attempt of every request, so rotating
/// tokens (an Entra ID token, a key from a vault) are always current.
///
/// Any `Fn() -> impl Future<Output = Result<SecretString>>` closure is a provider.
/// The error a provider returns should say what failed without the credential;
/// [`Error::credentials`] makes one.
pub trait CredentialProvider: Send + Sync + 'static {
    /// The credential to use for the next attempt.
    fn credential(&self) -> CredentialFuture<'_>;
}

impl<F, Fut> CredentialProvider for F
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<SecretString>> + Send + 'static,
{
    fn credential(&self) -> CredentialFuture<'_> {
        Box::pin(self())
    }
}

/// Where the credential goes in the request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum AuthStyle {
    /// `Authorization: Bearer <credential>` (OpenAI, and Azure with Entra ID).
    #[default]
    Bearer,
    /// `<name>: <credential>`, as Azure's `api-key`.
    Header(HeaderName),
}

#[derive(Clone, Default)]
pub(crate) enum CredentialSource {
    /// No credential is sent (local OpenAI-compatible servers).
    #[default]
    None,
    Static(SecretString),
    Provider(Arc<dyn CredentialProvider>),
}

impl fmt::Debug for CredentialSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CredentialSource::None => "None",
            CredentialSource::Static(_) => "Static([REDACTED])",
            CredentialSource::Provider(_) => "Provider(..)",
        })
    }
}

/// Checks that `key` can travel in a header, naming `what` (an environment
/// variable or a setting) and never the key itself in the error.
pub(crate) fn check_key(key: &str, what: &str) -> Result<()> {
    if key.is_empty() {
        return Err(Error::config(format!("{what} is empty")));
    }
    if let Some(pos) = key.bytes().position(|b| b.is_ascii_whitespace()) {
        return Err(Error::config(format!(
            "{what} contains whitespace (at byte {pos}); remove spaces and line breaks around the key"
        )));
    }
    if let Some(pos) = key.bytes().position(|b| !b.is_ascii_graphic()) {
        return Err(Error::config(format!(
            "{what} contains a control or non-ASCII character (at byte {pos}), which cannot be sent in an HTTP header"
        )));
    }
    Ok(())
}

/// The credential header for `secret`, marked sensitive. Never panics.
pub(crate) fn auth_header(
    style: &AuthStyle,
    secret: &SecretString,
    what: &str,
) -> Result<(HeaderName, HeaderValue)> {
    let key = secret.expose_secret();
    check_key(key, what)?;
    let (name, text) = match style {
        AuthStyle::Bearer => {
            let mut s = Zeroizing::new(String::with_capacity(key.len() + 7));
            s.push_str("Bearer ");
            s.push_str(key);
            (http::header::AUTHORIZATION, s)
        }
        AuthStyle::Header(name) => (name.clone(), Zeroizing::new(key.to_owned())),
    };
    let mut value = HeaderValue::from_str(&text)
        .map_err(|_| Error::config(format!("{what} cannot be sent in an HTTP header")))?;
    value.set_sensitive(true);
    Ok((name, value))
}

impl CredentialSource {
    /// The credential for the next attempt.
    pub(crate) async fn resolve(&self) -> Result<Option<SecretString>> {
        match self {
            CredentialSource::None => Ok(None),
            CredentialSource::Static(s) => Ok(Some(s.clone())),
            CredentialSource::Provider(p) => p.credential().await.map(Some),
        }
    }
}

impl crate::config::Config {
    /// The credential header of the next request, for a connection this crate
    /// does not make itself (the facade's realtime WebSocket): the same header
    /// from the same source as every HTTP request (a provider is asked now),
    /// marked sensitive. `None` when the configuration sends no credential.
    ///
    /// # Errors
    /// The provider failed, or gave a credential that cannot be sent in a header.
    pub async fn credential_header(&self) -> Result<Option<(HeaderName, HeaderValue)>> {
        let Some(secret) = self.credentials.resolve().await? else {
            return Ok(None);
        };
        auth_header(&self.auth_style, &secret, &self.credential_name)
            .map(Some)
            .map_err(|e| match self.credentials {
                CredentialSource::Provider(_) => Error::credentials(
                    "the provider returned a credential that cannot be sent in an HTTP header",
                ),
                _ => e,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_checks_name_the_setting_not_the_key() {
        let cases = [
            ("", "is empty"),
            ("sk-abc def", "whitespace"),
            ("sk-abc\n", "whitespace"),
            ("sk-abc\u{7f}", "control or non-ASCII"),
            ("sk-é", "control or non-ASCII"),
        ];
        for (key, want) in cases {
            let err = check_key(key, "OPENAI_API_KEY").unwrap_err();
            let msg = err.to_string();
            assert!(err.is_config());
            assert!(msg.contains("OPENAI_API_KEY"), "{msg}");
            assert!(msg.contains(want), "{msg}");
            if !key.trim().is_empty() {
                assert!(!msg.contains(key.trim()), "{msg}");
            }
        }
        assert!(check_key("sk-proj-AZaz09_-", "k").is_ok());
    }

    #[test]
    fn header_is_sensitive_and_shaped() {
        let secret = SecretString::from("sk-test-1");
        let (name, value) = auth_header(&AuthStyle::Bearer, &secret, "k").unwrap();
        assert_eq!(name, http::header::AUTHORIZATION);
        assert!(value.is_sensitive());
        assert_eq!(value.as_bytes(), b"Bearer sk-test-1");
        assert!(!format!("{value:?}").contains("sk-test-1"));
        let style = AuthStyle::Header(HeaderName::from_static("api-key"));
        let (name, value) = auth_header(&style, &secret, "k").unwrap();
        assert_eq!(name.as_str(), "api-key");
        assert_eq!(value.as_bytes(), b"sk-test-1");
        assert!(value.is_sensitive());
    }

    #[tokio::test]
    async fn config_gives_the_credential_header() {
        let config = crate::Config::builder().api_key("sk-h1").build().unwrap();
        let (name, value) = config.credential_header().await.unwrap().unwrap();
        assert_eq!(name, http::header::AUTHORIZATION);
        assert_eq!(value.as_bytes(), b"Bearer sk-h1");
        assert!(value.is_sensitive());
        let none = crate::Config::builder().no_auth().build().unwrap();
        assert!(none.credential_header().await.unwrap().is_none());
    }

    #[test]
    fn debug_hides_static_key() {
        let s = CredentialSource::Static(SecretString::from("sk-hidden"));
        assert!(!format!("{s:?}").contains("sk-hidden"));
    }
}
