//! Azure OpenAI: endpoint, `api-version`, deployment paths and credentials.
//!
//! An Azure resource serves the same operations as the OpenAI API under
//! `https://{resource}.openai.azure.com/openai`, with three differences this
//! module takes care of:
//!
//! - every request carries an `api-version` query pair;
//! - the operations that run a model (chat, completions, embeddings, audio,
//!   images) go to `/openai/deployments/{deployment}/...`, where the deployment
//!   is the `model` of the request (or one fixed deployment);
//! - the credential is an `api-key` header, or an Entra ID token sent as
//!   `Authorization: Bearer`, asked from a provider before every attempt.
//!
//! The newer Azure "v1" endpoint (`.../openai/v1`) needs neither the version
//! nor deployment paths; it is configured the same way without an API version.
//!
//! ```
//! use oai_transport::Config;
//!
//! let config = Config::azure()
//!     .endpoint("https://my-resource.openai.azure.com")
//!     .api_version("2024-10-21")
//!     .api_key("azure-key")
//!     .build()?;
//! assert_eq!(config.base_url().as_str(), "https://my-resource.openai.azure.com/openai");
//! # Ok::<(), oai_transport::Error>(())
//! ```

use std::fmt;

use http::HeaderName;
use secrecy::SecretString;

use crate::auth::{AuthStyle, CredentialProvider};
use crate::config::{Config, ConfigBuilder};
use crate::error::{Error, Result};
use crate::multipart::MultipartForm;
use crate::transport::RequestBody;

/// Environment variable holding the Azure resource's key.
pub const ENV_AZURE_API_KEY: &str = "AZURE_OPENAI_API_KEY";
/// Environment variable holding the Azure endpoint (`https://{resource}.openai.azure.com`).
pub const ENV_AZURE_ENDPOINT: &str = "AZURE_OPENAI_ENDPOINT";
/// Environment variable holding a static Entra ID token.
pub const ENV_AZURE_AD_TOKEN: &str = "AZURE_OPENAI_AD_TOKEN";
/// Environment variable holding the `api-version`.
pub const ENV_API_VERSION: &str = "OPENAI_API_VERSION";

/// The operations Azure serves under `/deployments/{model}`, as paths under
/// the base URL (the same list the official SDKs use).
pub const DEPLOYMENT_PATHS: &[&str] = &[
    "/completions",
    "/chat/completions",
    "/embeddings",
    "/audio/transcriptions",
    "/audio/translations",
    "/audio/speech",
    "/images/generations",
    "/images/edits",
];

/// How requests are routed to deployments, kept in the [`Config`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AzureRouting {
    /// Rewrite [`DEPLOYMENT_PATHS`] to `/deployments/{model}{path}`: true
    /// unless the base URL already names a deployment or is the v1 endpoint.
    pub(crate) deployment_from_model: bool,
}

impl AzureRouting {
    /// The path `request` is sent to: `/deployments/{model}{path}` for a
    /// deployment operation whose body names a model, else `path` unchanged.
    pub(crate) fn route(&self, path: &str, body: &RequestBody) -> Result<Option<String>> {
        if !self.deployment_from_model || !DEPLOYMENT_PATHS.contains(&path) {
            return Ok(None);
        }
        let Some(model) = model_of(body) else {
            return Ok(None);
        };
        let segment = deployment_segment(&model)
            .map_err(|why| Error::invalid_input(format!("model {model:?} {why}")))?;
        Ok(Some(format!("/deployments/{segment}{path}")))
    }
}

/// The `model` of a JSON body or a multipart form, if it has one.
fn model_of(body: &RequestBody) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Model {
        model: Option<String>,
    }
    match body {
        RequestBody::Json(bytes) => serde_json::from_slice::<Model>(bytes).ok()?.model,
        RequestBody::Multipart(form) => form_text(form, "model"),
        _ => None,
    }
}

fn form_text(form: &MultipartForm, name: &str) -> Option<String> {
    form.text_field(name).map(str::to_owned)
}

/// A deployment name as one path segment. Deployment names are letters,
/// digits, `-`, `_` and `.`; anything else is percent-encoded, and names that
/// would change the path (`""`, `.`, `..`) are refused.
fn deployment_segment(name: &str) -> std::result::Result<String, &'static str> {
    if name.is_empty() {
        return Err("is empty and cannot name an Azure deployment");
    }
    if name == "." || name == ".." {
        return Err("cannot name an Azure deployment");
    }
    let mut out = String::with_capacity(name.len());
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    Ok(out)
}

enum AzureCredential {
    Unset,
    Key(SecretString, String),
    Token(SecretString, String),
    Provider(Box<dyn CredentialProvider>),
}

/// Builds a [`Config`] for Azure OpenAI. Get one with [`Config::azure`] or
/// [`Config::azure_from_env`]; settings made later win over the environment.
///
/// With an Entra ID provider:
///
/// ```
/// use oai_transport::{Config, secrecy::SecretString};
///
/// let config = Config::azure()
///     .endpoint("https://my-resource.openai.azure.com")
///     .api_version("2024-10-21")
///     .entra_token_provider(|| async {
///         // Ask your identity library for a token for
///         // https://cognitiveservices.azure.com/.default here.
///         Ok(SecretString::from("eyJ0eXAi..."))
///     })
///     .build()?;
/// # Ok::<(), oai_transport::Error>(())
/// ```
#[must_use]
pub struct AzureBuilder {
    endpoint: Option<(String, String)>,
    api_version: Option<String>,
    deployment: Option<String>,
    credential: AzureCredential,
    common: ConfigBuilder,
}

impl fmt::Debug for AzureBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AzureBuilder")
            .field("endpoint", &self.endpoint.as_ref().map(|e| &e.0))
            .field("api_version", &self.api_version)
            .field("deployment", &self.deployment)
            .field(
                "credential",
                &match self.credential {
                    AzureCredential::Unset => "unset",
                    AzureCredential::Key(..) => "api-key [REDACTED]",
                    AzureCredential::Token(..) => "token [REDACTED]",
                    AzureCredential::Provider(_) => "provider",
                },
            )
            .finish_non_exhaustive()
    }
}

impl Default for AzureBuilder {
    fn default() -> Self {
        Self {
            endpoint: None,
            api_version: None,
            deployment: None,
            credential: AzureCredential::Unset,
            common: ConfigBuilder::default(),
        }
    }
}

impl AzureBuilder {
    /// What the environment says: `AZURE_OPENAI_ENDPOINT`, `OPENAI_API_VERSION`,
    /// and `AZURE_OPENAI_AD_TOKEN` or `AZURE_OPENAI_API_KEY` (a token wins, as
    /// in the official SDKs).
    pub fn from_env_with(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let set = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let credential = if let Some(t) = set(ENV_AZURE_AD_TOKEN) {
            AzureCredential::Token(SecretString::from(t), ENV_AZURE_AD_TOKEN.into())
        } else if let Some(k) = lookup(ENV_AZURE_API_KEY) {
            AzureCredential::Key(SecretString::from(k), ENV_AZURE_API_KEY.into())
        } else {
            AzureCredential::Unset
        };
        Self {
            endpoint: set(ENV_AZURE_ENDPOINT).map(|e| (e, ENV_AZURE_ENDPOINT.into())),
            api_version: set(ENV_API_VERSION),
            deployment: None,
            credential,
            common: ConfigBuilder::default(),
        }
    }

    /// The resource endpoint, `https://{resource}.openai.azure.com` (a path
    /// ending in `/openai` or `/openai/v1` is kept as it is).
    pub fn endpoint(mut self, url: impl Into<String>) -> Self {
        self.endpoint = Some((url.into(), "the Azure endpoint setting".into()));
        self
    }

    /// The `api-version` sent with every request (`2024-10-21`, say). Required
    /// unless the endpoint is the v1 API (`.../openai/v1`).
    pub fn api_version(mut self, version: impl Into<String>) -> Self {
        self.api_version = Some(version.into());
        self
    }

    /// Sends every request to this one deployment, whatever model it names.
    /// Without it, deployment operations go to the deployment named by the
    /// request's `model`.
    pub fn deployment(mut self, name: impl Into<String>) -> Self {
        self.deployment = Some(name.into());
        self
    }

    /// The resource key, sent as the `api-key` header.
    pub fn api_key(mut self, key: impl Into<SecretString>) -> Self {
        self.credential = AzureCredential::Key(key.into(), "the Azure api_key setting".into());
        self
    }

    /// A fixed Entra ID token, sent as `Authorization: Bearer`. Tokens expire:
    /// prefer [`Self::entra_token_provider`].
    pub fn entra_token(mut self, token: impl Into<SecretString>) -> Self {
        self.credential = AzureCredential::Token(token.into(), "the Entra token setting".into());
        self
    }

    /// An Entra ID token provider, asked before every attempt of every request;
    /// the token is sent as `Authorization: Bearer`.
    pub fn entra_token_provider(mut self, provider: impl CredentialProvider) -> Self {
        self.credential = AzureCredential::Provider(Box::new(provider));
        self
    }

    /// Applies the settings Azure shares with OpenAI (timeouts, retries,
    /// headers, body caps, HTTP client) to the underlying [`ConfigBuilder`].
    ///
    /// ```
    /// use std::time::Duration;
    /// let config = oai_transport::Config::azure()
    ///     .endpoint("https://r.openai.azure.com")
    ///     .api_version("2024-10-21")
    ///     .api_key("k")
    ///     .with(|c| c.max_retries(4).timeout(Duration::from_secs(30)))
    ///     .build()?;
    /// assert_eq!(config.max_retries(), 4);
    /// # Ok::<(), oai_transport::Error>(())
    /// ```
    pub fn with(mut self, f: impl FnOnce(ConfigBuilder) -> ConfigBuilder) -> Self {
        self.common = f(self.common);
        self
    }

    /// Checks everything and returns the configuration.
    ///
    /// # Errors
    /// A configuration error naming the setting or variable at fault: no
    /// endpoint, no API version (for a non-v1 endpoint), no credential, a
    /// malformed endpoint, key or deployment name.
    pub fn build(self) -> Result<Config> {
        let Some((endpoint, from)) = self.endpoint else {
            return Err(Error::config(format!(
                "no Azure endpoint: set {ENV_AZURE_ENDPOINT} or call endpoint()"
            )));
        };
        let trimmed = endpoint.trim().trim_end_matches('/');
        let (base, v1) = if trimmed.ends_with("/openai/v1") {
            (trimmed.to_owned(), true)
        } else if trimmed.ends_with("/openai") {
            (trimmed.to_owned(), false)
        } else {
            (format!("{trimmed}/openai"), false)
        };
        let base = match &self.deployment {
            Some(d) if !v1 => {
                let seg = deployment_segment(d)
                    .map_err(|why| Error::config(format!("the Azure deployment {why}")))?;
                format!("{base}/deployments/{seg}")
            }
            Some(_) => {
                return Err(Error::config(
                    "the Azure v1 endpoint takes the deployment as the request's model; \
                     remove deployment()",
                ));
            }
            None => base,
        };
        let mut common = self.common.base_url_from(base, from);
        match self.api_version {
            Some(v) => common = common.default_query("api-version", v.trim()),
            None if v1 => {}
            None => {
                return Err(Error::config(format!(
                    "no Azure API version: set {ENV_API_VERSION} or call api_version() \
                     (only the .../openai/v1 endpoint works without one)"
                )));
            }
        }
        common = match self.credential {
            AzureCredential::Unset => {
                return Err(Error::config(format!(
                    "no Azure credential: set {ENV_AZURE_API_KEY} (or {ENV_AZURE_AD_TOKEN}), \
                     or call api_key() or entra_token_provider()"
                )));
            }
            AzureCredential::Key(k, from) => common
                .api_key_from(k, from)
                .auth_style(AuthStyle::Header(HeaderName::from_static("api-key"))),
            AzureCredential::Token(t, from) => {
                common.api_key_from(t, from).auth_style(AuthStyle::Bearer)
            }
            AzureCredential::Provider(p) => common
                .credential_provider_boxed(p)
                .auth_style(AuthStyle::Bearer),
        };
        let mut config = common.build()?;
        config.azure = Some(AzureRouting {
            deployment_from_model: self.deployment.is_none() && !v1,
        });
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |k| map.get(k).cloned()
    }

    fn routing() -> AzureRouting {
        AzureRouting {
            deployment_from_model: true,
        }
    }

    #[test]
    fn deployment_paths_take_the_model() {
        let body = RequestBody::Json(Bytes::from_static(br#"{"model":"gpt-4o","messages":[]}"#));
        for path in DEPLOYMENT_PATHS {
            assert_eq!(
                routing().route(path, &body).unwrap().as_deref(),
                Some(format!("/deployments/gpt-4o{path}").as_str())
            );
        }
        for path in [
            "/files",
            "/responses",
            "/models",
            "/batches",
            "/chat/completions/x",
        ] {
            assert_eq!(routing().route(path, &body).unwrap(), None, "{path}");
        }
        let form = RequestBody::Multipart(
            MultipartForm::new()
                .text("model", "whisper 1")
                .text("language", "en"),
        );
        assert_eq!(
            routing()
                .route("/audio/transcriptions", &form)
                .unwrap()
                .as_deref(),
            Some("/deployments/whisper%201/audio/transcriptions")
        );
        // No model, or no rewriting: the path stays.
        let none = RequestBody::Json(Bytes::from_static(b"{}"));
        assert_eq!(routing().route("/embeddings", &none).unwrap(), None);
        let fixed = AzureRouting {
            deployment_from_model: false,
        };
        assert_eq!(fixed.route("/embeddings", &body).unwrap(), None);
        // A model that would change the path is refused.
        for bad in [r#"{"model":".."}"#, r#"{"model":""}"#] {
            let b = RequestBody::Json(Bytes::from(bad.to_owned()));
            assert!(
                routing()
                    .route("/embeddings", &b)
                    .unwrap_err()
                    .is_invalid_input()
            );
        }
        let slash = RequestBody::Json(Bytes::from_static(br#"{"model":"a/../b"}"#));
        assert_eq!(
            routing().route("/embeddings", &slash).unwrap().as_deref(),
            Some("/deployments/a%2F..%2Fb/embeddings")
        );
    }

    #[test]
    fn builds_from_env() {
        let c = AzureBuilder::from_env_with(env(&[
            ("AZURE_OPENAI_ENDPOINT", "https://r.openai.azure.com/"),
            ("OPENAI_API_VERSION", "2024-10-21"),
            ("AZURE_OPENAI_API_KEY", "azure-key"),
        ]))
        .build()
        .unwrap();
        assert_eq!(c.base_url().as_str(), "https://r.openai.azure.com/openai");
        assert_eq!(
            c.default_query,
            vec![("api-version".to_owned(), "2024-10-21".to_owned())]
        );
        assert_eq!(
            c.auth_style,
            AuthStyle::Header(HeaderName::from_static("api-key"))
        );
        assert!(!format!("{c:?}").contains("azure-key"));
        // A token wins over the key.
        let c = AzureBuilder::from_env_with(env(&[
            ("AZURE_OPENAI_ENDPOINT", "https://r.openai.azure.com"),
            ("OPENAI_API_VERSION", "2024-10-21"),
            ("AZURE_OPENAI_API_KEY", "azure-key"),
            ("AZURE_OPENAI_AD_TOKEN", "token"),
        ]))
        .build()
        .unwrap();
        assert_eq!(c.auth_style, AuthStyle::Bearer);
    }

    #[test]
    fn errors_name_what_is_missing() {
        let table: &[(&[(&str, &str)], &str)] = &[
            (&[], "AZURE_OPENAI_ENDPOINT"),
            (
                &[("AZURE_OPENAI_ENDPOINT", "https://r.openai.azure.com")],
                "OPENAI_API_VERSION",
            ),
            (
                &[
                    ("AZURE_OPENAI_ENDPOINT", "https://r.openai.azure.com"),
                    ("OPENAI_API_VERSION", "2024-10-21"),
                ],
                "AZURE_OPENAI_API_KEY",
            ),
            (
                &[
                    ("AZURE_OPENAI_ENDPOINT", "https://r.openai.azure.com"),
                    ("OPENAI_API_VERSION", "2024-10-21"),
                    ("AZURE_OPENAI_API_KEY", "bad key"),
                ],
                "AZURE_OPENAI_API_KEY contains whitespace",
            ),
            (
                &[
                    ("AZURE_OPENAI_ENDPOINT", "http://r.openai.azure.com"),
                    ("OPENAI_API_VERSION", "2024-10-21"),
                    ("AZURE_OPENAI_API_KEY", "k"),
                ],
                "AZURE_OPENAI_ENDPOINT uses plain http",
            ),
        ];
        for (pairs, want) in table {
            let err = AzureBuilder::from_env_with(env(pairs)).build().unwrap_err();
            assert!(err.is_config(), "{err}");
            assert!(err.to_string().contains(want), "{err}");
        }
    }

    #[test]
    fn v1_endpoint_and_fixed_deployment() {
        let c = Config::azure()
            .endpoint("https://r.openai.azure.com/openai/v1/")
            .api_key("k")
            .build()
            .unwrap();
        assert_eq!(
            c.base_url().as_str(),
            "https://r.openai.azure.com/openai/v1"
        );
        assert!(c.default_query.is_empty());
        assert_eq!(
            c.azure,
            Some(AzureRouting {
                deployment_from_model: false
            })
        );
        let c = Config::azure()
            .endpoint("https://r.openai.azure.com")
            .api_version("v")
            .deployment("my deployment")
            .api_key("k")
            .build()
            .unwrap();
        assert_eq!(
            c.base_url().as_str(),
            "https://r.openai.azure.com/openai/deployments/my%20deployment"
        );
        assert!(
            Config::azure()
                .endpoint("https://r.openai.azure.com")
                .api_version("v")
                .deployment("..")
                .api_key("k")
                .build()
                .is_err()
        );
    }
}
