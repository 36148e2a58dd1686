//! The `cmd:NAME=COMMAND` subject: any program that speaks the handler-operations protocol (docs/handler-protocol.md)
//! on its stdin and stdout, reported as NAME.
//!
//! COMMAND is split into words as a shell would (quotes and backslashes, no expansions) and started directly, not
//! through a shell. Like the PHP worker, each process runs in its own process group, is killed with it when
//! dropped, and has its stdin (the protocol pipe) as its lifeline. At subject start one process answers `hello`;
//! a program that does not (no answer within [`HELLO_TIMEOUT`], an answer that is not a hello, an exit) leaves
//! the subject unavailable, every case skipped with the reason. Then every driver (one handler owner of one case)
//! is a fresh process. The hello's `can` decides which clock cases run: a case needing a clock the program cannot
//! freeze or move is skipped, saying so.

use std::time::Duration;

use anyhow::Context as _;
use async_trait::async_trait;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{ChildStdin, ChildStdout, Command};

use super::child::OwnedChild;
use super::{HandlerDriver, Level, Subject, Unavailable};
use crate::protocol::{HELLO_REQUEST, HandlerRequest, HandlerResponse, Hello, HelloCan};
use crate::scenario::{Case, ClockGiven, StepOp};

/// What a `--subjects` entry starts with to name a program.
pub const PREFIX: &str = "cmd:";

/// How long a program may take to answer `hello` at subject start.
pub const HELLO_TIMEOUT: Duration = Duration::from_secs(10);

/// The longest stretch of a malformed answer an error message quotes.
const QUOTED_ANSWER: usize = 300;

/// Whether a `--subjects` entry names a program (`cmd:...`).
pub fn is_cmd(spec: &str) -> bool {
    spec.starts_with(PREFIX)
}

/// A parsed `cmd:NAME=COMMAND`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CmdSpec {
    /// The report name.
    pub name: String,
    /// COMMAND as given.
    pub command: String,
    /// The program, then its arguments.
    pub words: Vec<String>,
}

impl CmdSpec {
    /// Parses `cmd:NAME=COMMAND`; the error says what is wrong.
    pub fn parse(spec: &str) -> Result<Self, String> {
        let (name, command) = super::named_spec(spec, PREFIX, "COMMAND")?;
        let words = split_words(command).map_err(|e| format!("`{spec}`: COMMAND {e}"))?;
        if words.is_empty() {
            return Err(format!("`{spec}`: COMMAND is empty"));
        }
        Ok(CmdSpec {
            name: name.to_owned(),
            command: command.to_owned(),
            words,
        })
    }

    /// The subject as the errors name it: `NAME (`COMMAND`)`.
    fn label(&self) -> String {
        format!("subject {} (`{}`)", self.name, self.command)
    }
}

/// Splits `line` into words as a POSIX shell would, without expansions: blanks separate words; `'...'` is literal;
/// in `"..."` a backslash escapes only `"`, `\`, `$` and `` ` ``; elsewhere a backslash escapes the next
/// character. `""` is an empty word.
pub fn split_words(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err("has an unterminated single quote".to_owned()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$' | '`')) => word.push(c),
                            Some('\n') => {}
                            Some(c) => {
                                word.push('\\');
                                word.push(c);
                            }
                            None => return Err("has an unterminated double quote".to_owned()),
                        },
                        Some(c) => word.push(c),
                        None => return Err("has an unterminated double quote".to_owned()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some('\n') => {}
                    Some(c) => word.push(c),
                    None => return Err("ends with a lone backslash".to_owned()),
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

/// Starts the subject `spec` names: handshake first. A spec that does not parse or a program that fails the
/// handshake comes back as a subject that skips every case with the reason.
pub async fn start(spec: &str) -> Box<dyn Subject> {
    let parsed = match CmdSpec::parse(spec) {
        Ok(parsed) => parsed,
        Err(reason) => {
            return Box::new(Unavailable {
                name: spec.to_owned(),
                reason,
            });
        }
    };
    match CmdSubject::start(parsed.clone()).await {
        Ok(subject) => Box::new(subject),
        Err(error) => Box::new(Unavailable {
            name: parsed.name.clone(),
            reason: format!("{} failed the hello handshake: {error:#}", parsed.label()),
        }),
    }
}

pub struct CmdSubject {
    spec: CmdSpec,
    hello: Hello,
}

impl CmdSubject {
    /// Runs one process for the handshake and keeps what it said.
    pub async fn start(spec: CmdSpec) -> anyhow::Result<Self> {
        let mut worker = CmdWorker::start(&spec)?;
        let hello = worker.handshake().await?;
        // The handshake process has served its purpose; dropping it closes its stdin and kills its group.
        drop(worker);
        Ok(CmdSubject { spec, hello })
    }

    /// What the program said in its hello.
    pub fn hello(&self) -> &Hello {
        &self.hello
    }
}

#[async_trait]
impl Subject for CmdSubject {
    fn name(&self) -> &str {
        &self.spec.name
    }

    fn unsupported(&self, level: Level) -> Option<String> {
        (level == Level::Http).then(|| {
            format!(
                "{} speaks the handler-operations protocol; HTTP cases need a web app",
                self.spec.label()
            )
        })
    }

    fn implementation(&self) -> Option<String> {
        Some(format!("{} {}", self.hello.name, self.hello.version))
    }

    fn same_as(&self) -> &str {
        self.hello
            .deviations_of
            .as_deref()
            .unwrap_or(&self.spec.name)
    }

    fn skip_reason_for(&self, case: &Case) -> Option<String> {
        if case.level != Level::Handler {
            return None;
        }
        clock_skip_reason(&self.spec.name, &self.hello, case)
    }

    async fn driver(&self) -> anyhow::Result<Box<dyn HandlerDriver>> {
        let worker = CmdWorker::start(&self.spec).with_context(|| self.spec.label())?;
        Ok(Box::new(worker))
    }
}

/// Why `case` cannot run on a program whose hello says `hello.can`, if it cannot: `freeze_clock` for a frozen
/// `given.clock`, `move_clock` for an offset one and for `clock:` steps (which send `set_clock`).
fn clock_skip_reason(name: &str, hello: &Hello, case: &Case) -> Option<String> {
    let HelloCan {
        freeze_clock,
        move_clock,
    } = hello.can;
    let steps = case
        .steps
        .iter()
        .any(|step| matches!(step.op, StepOp::Clock { .. }));
    let needs = |what: &str, key: &str, why: &str| {
        Some(format!(
            "subject {name} cannot {what} its clock (its hello, {} {}, says can.{key}: false) and the case {why}",
            hello.name, hello.version
        ))
    };
    match case.given.clock {
        ClockGiven::Frozen if !freeze_clock => {
            return needs("freeze", "freeze_clock", "runs on a frozen clock");
        }
        ClockGiven::Offset(_) if !move_clock => {
            return needs("move", "move_clock", "runs on a shifted clock");
        }
        _ => {}
    }
    if steps && !move_clock {
        return needs("move", "move_clock", "has clock steps");
    }
    None
}

/// One process of the program: one handler owner, requests answered in order. Its own errors do not name the
/// subject; the driver's (and the handshake's caller) do.
struct CmdWorker {
    label: String,
    child: OwnedChild,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl CmdWorker {
    fn start(spec: &CmdSpec) -> anyhow::Result<Self> {
        let mut command = Command::new(&spec.words[0]);
        command
            .args(&spec.words[1..])
            // As for the PHP worker: the harness gives the client its endpoint, credentials and retries; a stray
            // AWS profile or retry setting on the machine must not reach the program's SDK.
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_RETRY_MODE")
            .env_remove("AWS_MAX_ATTEMPTS");
        let mut child = OwnedChild::spawn(command)
            .with_context(|| format!("cannot start {:?}", spec.words[0]))?;
        let (stdin, stdout) = child.take_pipes().context("the process's pipes")?;
        Ok(CmdWorker {
            label: spec.label(),
            child,
            stdin,
            stdout: BufReader::new(stdout),
        })
    }

    /// Sends one request line and reads one answer line; `Err` when the process stopped (with the reason).
    async fn exchange(&mut self, line: &str, what: &str) -> anyhow::Result<String> {
        let mut request = line.to_owned();
        request.push('\n');
        // A process that ended before reading the request may have written its line already (`echo notjson`):
        // that line is read as its answer whether or not the write got in first, so the outcome does not depend on
        // timing.
        let _ = async {
            self.stdin.write_all(request.as_bytes()).await?;
            self.stdin.flush().await
        }
        .await;
        let mut reply = Vec::new();
        match self.stdout.read_until(b'\n', &mut reply).await {
            Ok(0) | Err(_) => Err(self.died(what).await),
            Ok(_) => Ok(String::from_utf8_lossy(&reply).trim_end().to_owned()),
        }
    }

    /// The answer to `hello`, within [`HELLO_TIMEOUT`].
    async fn handshake(&mut self) -> anyhow::Result<Hello> {
        let reply = match tokio::time::timeout(HELLO_TIMEOUT, self.exchange(HELLO_REQUEST, "hello"))
            .await
        {
            Ok(reply) => reply?,
            Err(_) => anyhow::bail!(
                "no answer to {HELLO_REQUEST} within {} s{}",
                HELLO_TIMEOUT.as_secs(),
                self.stderr_suffix()
            ),
        };
        let response: HandlerResponse = serde_json::from_str(&reply).map_err(|e| {
            anyhow::anyhow!(
                "it answered {HELLO_REQUEST} with {} ({e}), not a JSON response line{}",
                quote(&reply),
                self.stderr_suffix()
            )
        })?;
        Hello::from_response(&response).map_err(|e| anyhow::anyhow!("{e}"))
    }

    /// Why the process stopped answering: its exit status (once it has ended) and the end of its stderr.
    async fn died(&mut self, what: &str) -> anyhow::Error {
        // A closed pipe means the process is ending; its status follows within moments.
        let status = self
            .child
            .wait_status(Duration::from_secs(2))
            .await
            .map_or("it is still running".to_owned(), |s| s.to_string());
        self.child.settle_stderr(Duration::from_millis(500)).await;
        anyhow::anyhow!(
            "the process stopped ({status}) before answering {what}{}",
            self.stderr_suffix()
        )
    }

    fn stderr_suffix(&self) -> String {
        let tail = self.child.stderr_tail();
        match tail.trim().is_empty() {
            true => "; its stderr was empty".to_owned(),
            false => format!("; its stderr:\n{tail}"),
        }
    }
}

#[async_trait]
impl HandlerDriver for CmdWorker {
    async fn call(&mut self, request: &HandlerRequest) -> anyhow::Result<HandlerResponse> {
        let line = serde_json::to_string(request)?;
        let reply = self
            .exchange(&line, request.op_name())
            .await
            .with_context(|| self.label.clone())?;
        serde_json::from_str(&reply).map_err(|e| {
            anyhow::anyhow!(
                "{}: answered {} with {} ({e}), not a JSON response line",
                self.label,
                request.op_name(),
                quote(&reply)
            )
        })
    }
}

/// `text` quoted for an error message, shortened when long.
fn quote(text: &str) -> String {
    match text.char_indices().nth(QUOTED_ANSWER) {
        Some((cut, _)) => format!("{:?}... ({} bytes)", &text[..cut], text.len()),
        None => format!("{text:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_split_like_shell_words() {
        let split = |s: &str| split_words(s).unwrap();
        assert_eq!(split("a b  c"), ["a", "b", "c"]);
        assert_eq!(split("  /bin/x  worker "), ["/bin/x", "worker"]);
        assert_eq!(
            split(r#"sh -c 'echo "a b"; exit 3'"#),
            ["sh", "-c", r#"echo "a b"; exit 3"#]
        );
        assert_eq!(split(r#""a \"q\" \$x \n" b"#), [r#"a "q" $x \n"#, "b"]);
        assert_eq!(split(r"a\ b c\'d"), ["a b", "c'd"]);
        assert_eq!(split(r#"x "" ''"#), ["x", "", ""]);
        assert_eq!(split(r#"pre'fix'"ed""#), ["prefixed"]);
        assert!(split_words("'open").unwrap_err().contains("single quote"));
        assert!(split_words("\"open").unwrap_err().contains("double quote"));
        assert!(split_words("a\\").unwrap_err().contains("backslash"));
    }

    #[test]
    fn specs_name_the_subject_and_the_program() {
        let spec = CmdSpec::parse("cmd:rust-worker=/t/dynamo-harness worker").unwrap();
        assert_eq!(spec.name, "rust-worker");
        assert_eq!(spec.words, ["/t/dynamo-harness", "worker"]);
        // The first `=` ends NAME; COMMAND may hold more.
        let spec = CmdSpec::parse("cmd:w=env A=1 php w.php").unwrap();
        assert_eq!(spec.words, ["env", "A=1", "php", "w.php"]);
        for (bad, says) in [
            ("cmd:nameonly", "NAME=COMMAND"),
            ("cmd:=x", "NAME must be"),
            ("cmd:a b=x", "NAME must be"),
            ("cmd:rust=x", "built-in"),
            ("cmd:w=", "empty"),
            ("cmd:w='x", "single quote"),
        ] {
            let error = CmdSpec::parse(bad).unwrap_err();
            assert!(error.contains(says), "{bad}: {error}");
        }
    }

    fn cases(yaml: &str) -> Vec<Case> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("clock.yaml");
        std::fs::write(&path, yaml).unwrap();
        crate::scenario::load_file(&path).unwrap()
    }

    #[test]
    fn clock_cases_skip_when_the_hello_says_the_clock_cannot_do_it() {
        let cases = cases(
            r#"
group: clock
defaults:
  config: {table_name: "{table}"}
cases:
  - id: PLAIN
    steps:
      - read: {id: a}
  - id: FROZEN
    given: {clock: {frozen: true}}
    steps:
      - read: {id: a}
  - id: OFFSET
    given: {clock: {offset: -100}}
    steps:
      - read: {id: a}
  - id: STEPS
    steps:
      - read: {id: a}
      - clock: {advance: 10}
      - read: {id: a}
"#,
        );
        let hello = |freeze_clock, move_clock| Hello {
            name: "w".into(),
            version: "9".into(),
            protocol: 1,
            can: HelloCan {
                freeze_clock,
                move_clock,
            },
            deviations_of: None,
        };
        let skipped = |hello: &Hello| -> Vec<&str> {
            cases
                .iter()
                .filter(|case| clock_skip_reason("x", hello, case).is_some())
                .map(|case| case.id.as_str())
                .collect()
        };
        assert!(skipped(&hello(true, true)).is_empty());
        assert_eq!(skipped(&hello(false, true)), ["FROZEN"]);
        assert_eq!(skipped(&hello(true, false)), ["OFFSET", "STEPS"]);
        assert_eq!(skipped(&hello(false, false)), ["FROZEN", "OFFSET", "STEPS"]);
        let reason = clock_skip_reason("x", &hello(false, true), &cases[1]).unwrap();
        assert_eq!(
            reason,
            "subject x cannot freeze its clock (its hello, w 9, says can.freeze_clock: false) and the case runs on \
             a frozen clock"
        );
    }

    #[test]
    fn long_answers_are_shortened_in_messages() {
        assert_eq!(quote("ab"), r#""ab""#);
        let long = "x".repeat(QUOTED_ANSWER + 10);
        assert!(quote(&long).ends_with(&format!("... ({} bytes)", long.len())));
    }
}
