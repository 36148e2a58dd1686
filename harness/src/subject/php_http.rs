//! The `php-http` subject: the CakePHP 2.10 test app (fixtures/cakephp-app) with the DynamoSession plugin, its
//! DynamoDB traffic through the harness's proxy, served one of two ways ([`PhpServer`]):
//!
//! * `fpm`: php-fpm (a static pool, `--php-fpm-children`) behind nginx, as operators run COmanage Registry. Both
//!   are child processes of the harness on loopback, their configuration (fixtures/cakephp-app/server/, filled
//!   in) written to a temp folder of their own; php-fpm listens on a unix socket there.
//! * `builtin`: `php -S` with PHP_CLI_SERVER_WORKERS.
//!
//! Every server runs under a lifeline shell in its own process group ([`WATCHED_SERVER`]), killed group-wide
//! when the subject is dropped or the harness goes away.

use std::path::{Path, PathBuf};
use std::sync::Once;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::child::OwnedChild;
use super::php::{PhpRuntime, workspace_root};
use super::{HandlerDriver, Level, Subject, SubjectEnv, SubjectSettings};

/// How long the app may take to answer its first /health.
const STARTUP_DEADLINE: Duration = Duration::from_secs(20);

/// Chooses the server where [`SubjectSettings::php_server`] is not set (`fpm` or `builtin`).
pub const SERVER_ENV: &str = "DYNAMO_HARNESS_PHP_SERVER";

/// php-fpm's pool size when none is given: the same as `php -S`'s default worker count.
pub const DEFAULT_CHILDREN: u32 = 4;

/// `php -S`'s worker count when none is given.
pub const DEFAULT_WORKERS: u32 = 4;

/// Starting a server on a port found free a moment earlier can lose a race with another job; this many tries.
const START_ATTEMPTS: usize = 3;

const FPM_TEMPLATE: &str = include_str!("../../../fixtures/cakephp-app/server/php-fpm.conf");
const NGINX_TEMPLATE: &str = include_str!("../../../fixtures/cakephp-app/server/nginx.conf");

/// How php-http is served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum PhpServer {
    /// php-fpm behind nginx, as in production (Debian: php-fpm, nginx).
    Fpm,
    /// PHP's built-in server, `php -S`, with PHP_CLI_SERVER_WORKERS.
    Builtin,
}

impl std::fmt::Display for PhpServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PhpServer::Fpm => "fpm",
            PhpServer::Builtin => "builtin",
        })
    }
}

impl std::str::FromStr for PhpServer {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "fpm" | "php-fpm" => Ok(PhpServer::Fpm),
            "builtin" | "php-s" | "cli" => Ok(PhpServer::Builtin),
            other => Err(format!(
                "`{other}` is not a PHP server; use fpm (php-fpm behind nginx) or builtin (php -S)"
            )),
        }
    }
}

/// The server php-http will run under here, the programs it needs, and the note to give when the choice was
/// made for the user.
#[derive(Debug, Clone)]
pub struct ServerChoice {
    pub server: PhpServer,
    /// php-fpm and nginx, for `fpm`.
    pub fpm: Option<(PathBuf, PathBuf)>,
    /// Why `builtin` was chosen although fpm is the default.
    pub note: Option<String>,
}

impl ServerChoice {
    /// `php-fpm8.2 (4 children) behind nginx` or `php -S (4 workers)`.
    pub fn describe(&self, settings: &SubjectSettings) -> String {
        match &self.fpm {
            Some((fpm, _)) => format!(
                "{} ({} children, pm = static) behind nginx",
                file_name(fpm),
                settings.php_fpm_children.unwrap_or(DEFAULT_CHILDREN)
            ),
            None => format!(
                "php -S ({} workers)",
                settings.php_server_workers.unwrap_or(DEFAULT_WORKERS)
            ),
        }
    }
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// Resolves the server: the setting, else [`SERVER_ENV`], else fpm where php-fpm and nginx are both installed,
/// else `php -S` with a note. Asking for fpm where either is missing is an error that says how to install them.
pub fn choose_server(settings: &SubjectSettings) -> anyhow::Result<ServerChoice> {
    let requested = match settings.php_server {
        Some(server) => Some(server),
        None => match std::env::var(SERVER_ENV) {
            Ok(text) if !text.trim().is_empty() => Some(
                text.parse::<PhpServer>()
                    .map_err(|e| anyhow::anyhow!("{SERVER_ENV}: {e}"))?,
            ),
            _ => None,
        },
    };
    let fpm = find_fpm(settings);
    let nginx = find_program("nginx");
    let missing = || {
        [("php-fpm", fpm.is_none()), ("nginx", nginx.is_none())]
            .iter()
            .filter(|(_, gone)| *gone)
            .map(|(name, _)| *name)
            .collect::<Vec<_>>()
            .join(" and ")
    };
    match (requested, fpm.clone(), nginx.clone()) {
        (Some(PhpServer::Builtin), _, _) => Ok(ServerChoice {
            server: PhpServer::Builtin,
            fpm: None,
            note: None,
        }),
        (_, Some(fpm), Some(nginx)) => Ok(ServerChoice {
            server: PhpServer::Fpm,
            fpm: Some((fpm, nginx)),
            note: None,
        }),
        (Some(PhpServer::Fpm), _, _) => anyhow::bail!(
            "php-http under fpm needs php-fpm and nginx, and {} is not installed (Debian: apt-get install \
             php-fpm nginx; or --php-server builtin for php -S)",
            missing()
        ),
        (None, _, _) => Ok(ServerChoice {
            server: PhpServer::Builtin,
            fpm: None,
            note: Some(format!(
                "note: php-http runs under php -S: {} is not installed (apt-get install php-fpm nginx for \
                 php-fpm behind nginx, as in production)",
                missing()
            )),
        }),
    }
}

/// php-fpm: `php-fpm` on PATH or in an sbin folder, preferring the one of the CLI's PHP version (Debian names
/// it php-fpm8.2).
fn find_fpm(settings: &SubjectSettings) -> Option<PathBuf> {
    let php = settings
        .php_binary
        .clone()
        .or_else(|| find_program("php"))?;
    let version = std::fs::canonicalize(&php)
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .and_then(|n| n.strip_prefix("php").map(str::to_owned))
        .filter(|v| !v.is_empty() && v.chars().all(|c| c.is_ascii_digit() || c == '.'));
    version
        .and_then(|v| find_program(&format!("php-fpm{v}")))
        .or_else(|| find_program("php-fpm"))
        .or_else(|| {
            search_dirs().into_iter().find_map(|dir| {
                let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
                    .ok()?
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| {
                        p.is_file()
                            && p.file_name()
                                .and_then(|n| n.to_str())
                                .and_then(|n| n.strip_prefix("php-fpm"))
                                .is_some_and(|v| {
                                    !v.is_empty()
                                        && v.chars().all(|c| c.is_ascii_digit() || c == '.')
                                })
                    })
                    .collect();
                found.sort();
                found.pop()
            })
        })
}

/// PATH, then the sbin folders a non-root PATH often lacks (Debian puts php-fpm and nginx in /usr/sbin).
fn search_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect())
        .unwrap_or_default();
    for extra in ["/usr/local/sbin", "/usr/sbin", "/sbin"] {
        if !dirs.iter().any(|d| d == Path::new(extra)) {
            dirs.push(PathBuf::from(extra));
        }
    }
    dirs
}

fn find_program(name: &str) -> Option<PathBuf> {
    search_dirs()
        .into_iter()
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// The note about falling back to `php -S`, once per process (a conformance run starts one app per job).
fn say_once(note: &str) {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| eprintln!("{note}"));
}

pub struct PhpHttpSubject {
    base_url: String,
    /// php -S, or php-fpm then nginx; `None` only while dropping.
    servers: Option<Servers>,
    /// CakePHP's TMP (caches, logs) and the servers' configuration for this instance, outside the checkout.
    tmp: PathBuf,
}

impl Drop for PhpHttpSubject {
    fn drop(&mut self) {
        // The servers first (fields drop after this body): their files go with the folder.
        drop(self.servers.take());
        let _ = std::fs::remove_dir_all(&self.tmp);
    }
}

/// What both ways of serving share.
struct Launch {
    runtime: PhpRuntime,
    webroot: PathBuf,
    envs: Vec<(String, String)>,
}

impl PhpHttpSubject {
    pub async fn start(env: &SubjectEnv, settings: &SubjectSettings) -> anyhow::Result<Self> {
        let runtime = PhpRuntime::find(settings)?;
        let choice = choose_server(settings)?;
        if let Some(note) = &choice.note {
            say_once(note);
        }
        let webroot = workspace_root().join("fixtures/cakephp-app/app/webroot");
        let mut last_error = None;
        for _ in 0..START_ATTEMPTS {
            let tmp = private_dir()?;
            let envs = super::app_env(env, settings)
                .into_iter()
                .chain([
                    (
                        "DYNAMO_SESSION_VENDOR".to_owned(),
                        runtime.vendor.display().to_string(),
                    ),
                    (
                        "CAKEPHP_APP_TMP".to_owned(),
                        tmp.join("cake").display().to_string(),
                    ),
                ])
                .collect::<Vec<_>>();
            let launch = Launch {
                runtime: PhpRuntime {
                    php: runtime.php.clone(),
                    vendor: runtime.vendor.clone(),
                },
                webroot: webroot.clone(),
                envs,
            };
            let started = match &choice.fpm {
                Some((fpm, nginx)) => start_fpm(&launch, settings, fpm, nginx, &tmp).await,
                None => start_builtin(&launch, settings).await,
            };
            match started {
                Ok((base_url, servers)) => {
                    return Ok(PhpHttpSubject {
                        base_url,
                        servers: Some(servers),
                        tmp,
                    });
                }
                Err(Failure { error, port_taken }) => {
                    let _ = std::fs::remove_dir_all(&tmp);
                    if !port_taken {
                        return Err(error);
                    }
                    last_error = Some(error);
                }
            }
        }
        Err(last_error.expect("at least one attempt"))
    }
}

/// A fresh folder of this instance's own under the temp folder.
fn private_dir() -> anyhow::Result<PathBuf> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("dynamo-harness-php-{}-{n}", std::process::id()));
    // A leftover of an earlier process with the same pid: it is ours to replace.
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

/// A start that failed, and whether only because the port was taken in the meantime (worth another try).
struct Failure {
    error: anyhow::Error,
    port_taken: bool,
}

impl From<anyhow::Error> for Failure {
    fn from(error: anyhow::Error) -> Self {
        let text = format!("{error:#}");
        Failure {
            port_taken: text.contains("Address already in use"),
            error,
        }
    }
}

async fn start_builtin(
    launch: &Launch,
    settings: &SubjectSettings,
) -> Result<(String, Servers), Failure> {
    let port = free_port()?;
    let workers = settings
        .php_server_workers
        .unwrap_or(DEFAULT_WORKERS)
        .to_string();
    let router = launch.webroot.join("router.php");
    // -q: no log line per request (three of them, which the harness would read by the thousand under load);
    // warnings and errors still reach stderr.
    let args = vec![
        "-q".to_owned(),
        "-S".to_owned(),
        format!("127.0.0.1:{port}"),
        "-t".to_owned(),
        launch.webroot.display().to_string(),
        router.display().to_string(),
    ];
    let mut envs = launch.envs.clone();
    envs.push(("PHP_CLI_SERVER_WORKERS".to_owned(), workers));
    let (server, _) = spawn_watched(&launch.runtime.php, &args, &envs)
        .await
        .context("starting php -S")?;
    let base_url = format!("http://127.0.0.1:{port}");
    let mut servers = Servers {
        children: vec![server],
        fpm_group: None,
    };
    wait_healthy_all(&base_url, &mut [("php -S", &mut servers.children[0])]).await?;
    Ok((base_url, servers))
}

/// The two configuration files for `dir`, from the templates in fixtures/cakephp-app/server/.
pub fn fpm_configs(
    dir: &Path,
    webroot: &Path,
    port: u16,
    children: u32,
    envs: &[(String, String)],
    as_root: bool,
) -> anyhow::Result<(String, String)> {
    let mut env_lines = String::new();
    for (key, value) in envs {
        // php-fpm reads the value as an INI string: no way to escape a double quote or a line break in it.
        if value.contains(['"', '\n', '\r'])
            || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            anyhow::bail!(
                "{key} cannot be passed to php-fpm as env[{key}] (quote or line break in it)"
            );
        }
        env_lines.push_str(&format!("env[{key}] = \"{value}\"\n"));
    }
    let dir_text = dir.display().to_string();
    let fpm = FPM_TEMPLATE
        .replace("@DIR@", &dir_text)
        .replace("@CHILDREN@", &children.max(1).to_string())
        .replace(
            "@USER@",
            if as_root {
                "user = root\ngroup = root"
            } else {
                ""
            },
        )
        .replace("@ENV@", env_lines.trim_end());
    let nginx = NGINX_TEMPLATE
        .replace("@DIR@", &dir_text)
        .replace("@PORT@", &port.to_string())
        .replace("@WEBROOT@", &webroot.display().to_string())
        .replace("@USER@", if as_root { "user root root;" } else { "" });
    Ok((fpm, nginx))
}

async fn start_fpm(
    launch: &Launch,
    settings: &SubjectSettings,
    fpm: &Path,
    nginx: &Path,
    dir: &Path,
) -> Result<(String, Servers), Failure> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let as_root = unsafe { libc::geteuid() } == 0;
    let port = free_port()?;
    let children = settings.php_fpm_children.unwrap_or(DEFAULT_CHILDREN);
    let (fpm_conf, nginx_conf) =
        fpm_configs(dir, &launch.webroot, port, children, &launch.envs, as_root)?;
    let fpm_path = dir.join("php-fpm.conf");
    let nginx_path = dir.join("nginx.conf");
    std::fs::write(&fpm_path, fpm_conf)
        .with_context(|| format!("writing {}", fpm_path.display()))?;
    std::fs::write(&nginx_path, nginx_conf)
        .with_context(|| format!("writing {}", nginx_path.display()))?;

    let mut fpm_args = vec![
        "--nodaemonize".to_owned(),
        "--fpm-config".to_owned(),
        fpm_path.display().to_string(),
    ];
    if as_root {
        fpm_args.push("--allow-to-run-as-root".to_owned());
    }
    // The pool's env[...] lines carry the app's settings; the process environment is the harness's own
    // (clear_env = no), as php -S would see it.
    let (fpm_child, fpm_group) = spawn_watched(fpm, &fpm_args, &[])
        .await
        .with_context(|| format!("starting {}", fpm.display()))?;
    // Owned from here on: an error below kills php-fpm's group as well.
    let mut servers = Servers {
        children: vec![fpm_child],
        fpm_group: Some(fpm_group),
    };
    let nginx_args = vec![
        "-p".to_owned(),
        dir.display().to_string(),
        "-c".to_owned(),
        nginx_path.display().to_string(),
        "-e".to_owned(),
        "stderr".to_owned(),
    ];
    let (nginx_child, _) = spawn_watched(nginx, &nginx_args, &[])
        .await
        .with_context(|| format!("starting {}", nginx.display()))?;
    servers.children.push(nginx_child);
    let base_url = format!("http://127.0.0.1:{port}");
    {
        let (first, rest) = servers.children.split_at_mut(1);
        wait_healthy_all(
            &base_url,
            &mut [("php-fpm", &mut first[0]), ("nginx", &mut rest[0])],
        )
        .await?;
    }
    Ok((base_url, servers))
}

/// The shell each server runs under. Like [`OwnedChild::spawn_server`]'s, it kills its process group when its
/// stdin (the harness's end of a pipe) closes, so nothing outlives the harness. Two additions:
///
/// * it says the server's pid first: php-fpm's master calls setsid() even with --nodaemonize, which takes it
///   (and its pool) out of the shell's group, so the shell and [`Servers`] kill that group by its id as well;
/// * it ends when the server does, saying its exit status on stderr, so a server that could not start (a port
///   taken meanwhile, a bad configuration) shows as an exit instead of as a silent wait.
///
/// (The reader gets the pipe as fd 3, duplicated after the server started so the server does not hold it: a
/// background list's own stdin is /dev/null.)
const WATCHED_SERVER: &str = r#""$@" </dev/null >&2 & server=$!
echo "$server"
exec 3<&0
{ read _lifeline <&3; kill -KILL -"$server" "$server" 2>/dev/null; kill -KILL 0; } </dev/null &
wait "$server"; status=$?
echo "$1 exited with status $status" >&2
kill -KILL -"$server" 2>/dev/null; kill -KILL 0"#;

/// Starts `program` under [`WATCHED_SERVER`]; returns the shell and the server's pid.
async fn spawn_watched(
    program: &Path,
    args: &[String],
    envs: &[(String, String)],
) -> anyhow::Result<(OwnedChild, i32)> {
    let mut command = tokio::process::Command::new("sh");
    command
        .arg("-c")
        .arg(WATCHED_SERVER)
        .arg("sh")
        .arg(program)
        .args(args);
    for (key, value) in envs {
        command.env(key, value);
    }
    let mut child = OwnedChild::spawn(command)?;
    let stdout = child.stdout().context("the server's shell has no stdout")?;
    let mut line = String::new();
    let read = tokio::time::timeout(
        Duration::from_secs(10),
        tokio::io::AsyncBufReadExt::read_line(&mut tokio::io::BufReader::new(stdout), &mut line),
    )
    .await;
    match read {
        Ok(Ok(_)) => match line.trim().parse::<i32>() {
            Ok(pid) if pid > 1 => Ok((child, pid)),
            _ => anyhow::bail!(
                "the server's shell did not say its pid (got {line:?}); its stderr:\n{}",
                child.stderr_tail()
            ),
        },
        _ => anyhow::bail!(
            "the server's shell did not say its pid within 10 s; its stderr:\n{}",
            child.stderr_tail()
        ),
    }
}

/// The server processes of one instance; dropping it kills them all.
struct Servers {
    /// php -S, or php-fpm then nginx (each under its lifeline shell).
    children: Vec<OwnedChild>,
    /// php-fpm's own process group (its master's pid), outside the shells' groups.
    fpm_group: Option<i32>,
}

impl Drop for Servers {
    fn drop(&mut self) {
        if let Some(pid) = self.fpm_group.take()
            && is_fpm(pid)
        {
            // SAFETY: kill(2) on php-fpm's master and its group, checked just now to be php-fpm (the master is
            // our grandchild, so its pid is only free for reuse once it has died and been reaped).
            unsafe {
                libc::kill(-pid, libc::SIGKILL);
                libc::kill(pid, libc::SIGKILL);
            }
        }
        // Then nginx and the shells, each group-wide.
        while let Some(child) = self.children.pop() {
            drop(child);
        }
    }
}

/// Whether `pid` is a php-fpm process (its command name, from /proc).
fn is_fpm(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .is_ok_and(|comm| comm.trim_start().starts_with("php-fpm"))
}

/// A port nobody listens on right now (the server binds it a moment later). It is picked at random below the
/// kernel's ephemeral range where there is room: a port from bind(0) or an outgoing connection (the wire proxy of
/// another job, a client socket) can then never take it in the moment between this check and the server's bind.
pub fn free_port() -> anyhow::Result<u16> {
    use std::hash::{BuildHasher, Hasher};
    let (low, _) = ephemeral_range();
    if low > 11_000 {
        let span = u64::from(low - 10_000);
        let random = std::collections::hash_map::RandomState::new();
        for attempt in 0..64u64 {
            let mut hasher = random.build_hasher();
            hasher.write_u64(attempt);
            let port = 10_000 + (hasher.finish() % span) as u16;
            if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
                return Ok(port);
            }
        }
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}

/// The kernel's ephemeral port range (Linux; elsewhere the common default).
fn ephemeral_range() -> (u16, u16) {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|text| {
            let mut parts = text.split_whitespace().map(|p| p.parse::<u16>().ok());
            Some((parts.next()??, parts.next()??))
        })
        .unwrap_or((32_768, 60_999))
}

/// Polls `GET /health` until it answers 200 or the deadline passes.
pub async fn wait_healthy(base_url: &str, server: &mut OwnedChild) -> anyhow::Result<()> {
    wait_healthy_all(base_url, &mut [("the web app", server)]).await
}

/// Polls `GET /health` until it answers 200, any of the servers exits, or the deadline passes.
async fn wait_healthy_all(
    base_url: &str,
    servers: &mut [(&str, &mut OwnedChild)],
) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + STARTUP_DEADLINE;
    let mut last = String::from("no answer");
    let tails = |servers: &[(&str, &mut OwnedChild)]| {
        servers
            .iter()
            .map(|(name, server)| format!("{name}'s stderr:\n{}", server.stderr_tail()))
            .collect::<Vec<_>>()
            .join("\n")
    };
    while Instant::now() < deadline {
        for at in 0..servers.len() {
            if let Some(status) = servers[at].1.try_status() {
                servers[at].1.settle_stderr(Duration::from_secs(2)).await;
                anyhow::bail!(
                    "{} exited ({status}) before the app answered; {}",
                    servers[at].0,
                    tails(servers)
                );
            }
        }
        match client.get(format!("{base_url}/health")).send().await {
            Ok(response) if response.status().is_success() => return Ok(()),
            Ok(response) => {
                last = format!(
                    "HTTP {}: {}",
                    response.status(),
                    response.text().await.unwrap_or_default()
                )
            }
            Err(error) => last = error.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    anyhow::bail!(
        "the web app at {base_url} did not answer /health within {} s (last: {last}); {}",
        STARTUP_DEADLINE.as_secs(),
        tails(servers)
    )
}

#[async_trait]
impl Subject for PhpHttpSubject {
    fn name(&self) -> &str {
        "php-http"
    }

    fn unsupported(&self, level: Level) -> Option<String> {
        (level == Level::Handler)
            .then(|| "php-http serves the web app; handler-level cases run on php".to_owned())
    }

    async fn driver(&self) -> anyhow::Result<Box<dyn HandlerDriver>> {
        anyhow::bail!("php-http has no handler-level face")
    }

    fn http_base_url(&self) -> Option<String> {
        Some(self.base_url.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_names_parse() {
        assert_eq!("fpm".parse::<PhpServer>(), Ok(PhpServer::Fpm));
        assert_eq!("builtin".parse::<PhpServer>(), Ok(PhpServer::Builtin));
        assert!("apache".parse::<PhpServer>().unwrap_err().contains("fpm"));
    }

    #[test]
    fn free_ports_avoid_the_ephemeral_range() {
        let (low, _) = ephemeral_range();
        let port = free_port().unwrap();
        if low > 11_000 {
            assert!((10_000..low).contains(&port), "{port}");
        }
        std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    }

    #[test]
    fn configs_fill_every_placeholder() {
        let envs = vec![(
            "COMANAGE_REGISTRY_DYNAMODB_REGION".to_owned(),
            "us-east-1".to_owned(),
        )];
        let (fpm, nginx) = fpm_configs(
            Path::new("/tmp/x"),
            Path::new("/srv/webroot"),
            8080,
            6,
            &envs,
            true,
        )
        .unwrap();
        for placeholder in [
            "@DIR@",
            "@CHILDREN@",
            "@USER@",
            "@ENV@",
            "@PORT@",
            "@WEBROOT@",
        ] {
            assert!(
                !fpm.contains(placeholder) && !nginx.contains(placeholder),
                "{placeholder}:\n{fpm}\n{nginx}"
            );
        }
        assert!(fpm.contains("pm.max_children = 6"), "{fpm}");
        assert!(fpm.contains("user = root"), "{fpm}");
        assert!(fpm.contains("env[COMANAGE_REGISTRY_DYNAMODB_REGION] = \"us-east-1\""));
        assert!(fpm.contains("listen = /tmp/x/php-fpm.sock"));
        assert!(nginx.contains("listen 127.0.0.1:8080;"), "{nginx}");
        assert!(nginx.contains("fastcgi_pass unix:/tmp/x/php-fpm.sock;"));
        assert!(nginx.contains("daemon off;") && nginx.contains("error_log stderr"));
        let (fpm, nginx) = fpm_configs(Path::new("/t"), Path::new("/w"), 1, 1, &[], false).unwrap();
        let directive = |conf: &str, start: &str| conf.lines().any(|l| l.trim().starts_with(start));
        assert!(!directive(&fpm, "user =") && !directive(&nginx, "user "));
        let bad = vec![("K".to_owned(), "a\"b".to_owned())];
        assert!(fpm_configs(Path::new("/t"), Path::new("/w"), 1, 1, &bad, false).is_err());
    }
}
