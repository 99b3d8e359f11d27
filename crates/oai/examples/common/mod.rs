//! What every example starts with: the real API when `OPENAI_API_KEY` is
//! set, otherwise `oai-mock` on a loopback port, said on the first line.

/// The client, and the fake server when one was started (keep it alive:
/// dropping the last handle stops it).
#[allow(dead_code)] // each example uses one of the two starts
pub async fn client_or_mock()
-> Result<(oai::Client, Option<oai_mock::MockServer>), Box<dyn std::error::Error>> {
    client_or_mock_with(|config| config).await
}

/// Like [`client_or_mock`], with `configure` applied to the configuration
/// of either (a rate limiter, retries, timeouts).
#[allow(dead_code)] // each example uses one of the two starts
pub async fn client_or_mock_with(
    configure: impl FnOnce(oai::ConfigBuilder) -> oai::ConfigBuilder,
) -> Result<(oai::Client, Option<oai_mock::MockServer>), Box<dyn std::error::Error>> {
    if std::env::var_os("OPENAI_API_KEY").is_some() {
        println!("Using the OpenAI API (OPENAI_API_KEY is set).");
        let config = configure(oai::ConfigBuilder::from_env()).build()?;
        return Ok((oai::Client::new(config)?, None));
    }
    let mock = oai_mock::MockServer::try_start().await?;
    println!(
        "OPENAI_API_KEY is not set: using oai-mock, a local fake server at {}.",
        mock.base_url()
    );
    let config = oai::Config::builder()
        .api_key(mock.api_key())
        .base_url(mock.base_url());
    let client = oai::Client::new(configure(config).build()?)?;
    Ok((client, Some(mock)))
}
