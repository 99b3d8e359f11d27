//! `oai`: the OpenAI API from the terminal, built on the `oai` crate.
//!
//! It reads the same environment variables as the library
//! (`OPENAI_API_KEY`, `OPENAI_BASE_URL`, `OPENAI_ORG_ID`, `OPENAI_PROJECT_ID`),
//! prints text for people or JSON for scripts (`--json`), and reports a
//! failure as one line on stderr with the request id, with an exit code that
//! says what kind of failure it was (see [`ExitCode`](exit)).
//!
//! Text a server or a model chose reaches a terminal only as safe text
//! ([`output`]): scrubbed of the key, without control characters. Pipes and
//! `--json` get the exact text.

#![forbid(unsafe_code)]

mod commands;
mod exit;
mod output;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// The OpenAI API from the terminal.
#[derive(Debug, Parser)]
#[command(name = "oai", version, about, after_long_help = exit::HELP)]
struct Cli {
    /// Print JSON on stdout instead of text, for scripts: the server's JSON
    /// as it sent it, never re-encoded (fields this program does not know are
    /// kept, fields the server left out stay out). A streamed answer prints
    /// its events, one JSON object per line as they arrive (`[DONE]` is not
    /// printed); `--no-stream` prints the one answer object. `files upload`
    /// and `batch run`, which make several requests, print the final objects
    /// as decoded (fields this program does not know are still kept).
    #[arg(long, global = true)]
    json: bool,

    /// Write stdout as for a terminal even when it is not one: text from the
    /// server or the model is scrubbed of the key and its control characters
    /// (escape sequences) and text-reordering characters are replaced; JSON
    /// gets `\u` escapes for them (and spaces for tabs and carriage returns
    /// between its values: the same JSON). On by itself when stdout is a
    /// terminal; otherwise (pipes, files) stdout gets the exact text.
    #[arg(long, global = true)]
    terminal: bool,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Ask a chat model; the answer is printed as it streams in.
    Chat {
        /// What to ask.
        prompt: String,
        /// The model.
        #[arg(long, short, default_value = "gpt-4o-mini")]
        model: String,
        /// A system message put before the prompt.
        #[arg(long)]
        system: Option<String>,
        /// Wait for the whole answer instead of streaming it.
        #[arg(long)]
        no_stream: bool,
        /// The most tokens the answer may have (sent as
        /// `max_completion_tokens`, or as `--max-tokens-field` says).
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
        max_tokens: Option<u32>,
        /// The request field that carries `--max-tokens`. OpenAI reads
        /// `max_completion_tokens` (the default); some OpenAI-compatible
        /// servers read only the older `max_tokens` and ignore the other
        /// (llama.cpp's server, for one): use `max_tokens` (or `legacy`) for
        /// them.
        #[arg(long, value_name = "FIELD", requires = "max_tokens", value_enum)]
        max_tokens_field: Option<TokenField>,
    },
    /// List the models the key can use.
    Models,
    /// Upload, list and delete files.
    Files {
        #[command(subcommand)]
        command: FilesCommand,
    },
    /// Run batch jobs.
    Batch {
        #[command(subcommand)]
        command: BatchCommand,
    },
    /// The Responses API.
    Responses {
        #[command(subcommand)]
        command: ResponsesCommand,
    },
}

#[derive(Debug, Subcommand)]
enum FilesCommand {
    /// Upload a file of any size, in parts, with a progress bar.
    Upload {
        /// The file.
        path: PathBuf,
        /// What the file is for (assistants, batch, fine-tune, vision, user_data, evals).
        #[arg(long, default_value = "user_data")]
        purpose: String,
        /// The size of each part, in MiB (at most 64).
        #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=64))]
        part_mib: u32,
    },
    /// List the files.
    List,
    /// Delete a file.
    Delete {
        /// The file's id.
        id: String,
    },
}

#[derive(Debug, Subcommand)]
enum BatchCommand {
    /// Submit a JSONL file of requests, wait for the batch with progress, and
    /// print each result by `custom_id`.
    ///
    /// Each line is `{"custom_id": .., "method": "POST", "url": "/v1/..", "body": {..}}`.
    /// If waiting fails, the batch id is printed: rerun with `--resume ID`.
    Run {
        /// The JSONL file (not needed with `--resume`).
        #[arg(required_unless_present = "resume")]
        file: Option<PathBuf>,
        /// Wait for an existing batch instead of submitting a new one.
        #[arg(long, value_name = "BATCH_ID")]
        resume: Option<String>,
        /// Write the results (one JSON line each) to this file instead of stdout.
        #[arg(long, short)]
        output: Option<PathBuf>,
        /// Seconds between polls at first (they back off to 60 s).
        #[arg(long, default_value_t = 5.0)]
        poll_seconds: f64,
    },
}

#[derive(Debug, Subcommand)]
enum ResponsesCommand {
    /// Create a response; its text is printed as it streams in.
    Create {
        /// The input text.
        input: String,
        /// The model.
        #[arg(long, short, default_value = "gpt-4o-mini")]
        model: String,
        /// Instructions (a system message).
        #[arg(long)]
        instructions: Option<String>,
        /// Wait for the whole response instead of streaming it.
        #[arg(long)]
        no_stream: bool,
        /// The most tokens the response may have (sent as `max_output_tokens`).
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
        max_tokens: Option<u32>,
    },
}

/// The chat request field that carries the token limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
enum TokenField {
    /// `max_completion_tokens`, the field OpenAI reads.
    #[default]
    #[value(name = "max_completion_tokens")]
    MaxCompletionTokens,
    /// `max_tokens`, the older field, for servers that read only it.
    #[value(name = "max_tokens", alias = "legacy")]
    MaxTokens,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // Help and version go to stdout with success; usage errors exit 2.
            let code = if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("oai: error: could not start the runtime: {e}");
            return ExitCode::from(exit::LOCAL);
        }
    };
    let (result, output) = runtime.block_on(async {
        let client = match oai::Client::from_env() {
            Ok(client) => client,
            Err(e) => {
                let output = output::Output::new(cli.terminal, Default::default());
                return (Err(exit::Failure::from(e)), output);
            }
        };
        let output = output::Output::new(cli.terminal, client.config().scrubber().clone());
        (commands::run(cli, &client, &output).await, output)
    });
    match result {
        Ok(()) => ExitCode::from(exit::OK),
        Err(failure) => {
            output.note(&format!("oai: error: {failure}"));
            ExitCode::from(failure.code())
        }
    }
}
