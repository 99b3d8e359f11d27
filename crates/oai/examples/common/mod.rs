//! What every example starts with: the real API when `OPENAI_API_KEY` is
//! set, otherwise `oai-mock` on a loopback port, said on the first line.

/// The client, and the fake server when one was started (keep it alive:
/// dropping the last handle stops it).
pub async fn client_or_mock()
-> Result<(oai::Client, Option<oai_mock::MockServer>), Box<dyn std::error::Error>> {
    if std::env::var_os("OPENAI_API_KEY").is_some() {
        println!("Using the OpenAI API (OPENAI_API_KEY is set).");
        return Ok((oai::Client::from_env()?, None));
    }
    let mock = oai_mock::MockServer::try_start().await?;
    println!(
        "OPENAI_API_KEY is not set: using oai-mock, a local fake server at {}.",
        mock.base_url()
    );
    let client = oai::Client::new(
        oai::Config::builder()
            .api_key(mock.api_key())
            .base_url(mock.base_url())
            .build()?,
    )?;
    Ok((client, Some(mock)))
}
