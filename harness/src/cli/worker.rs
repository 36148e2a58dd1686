//! `dynamo-harness worker`: the reference handler (dynamo-session, through dynamo-session-protocol's PHP outcomes) as a
//! program speaking the handler-operations protocol (docs/handler-protocol.md) on stdin and stdout, so that the
//! `cmd:NAME=COMMAND` subject (and anything else that drives workers) can run it like any other worker:
//!
//! ```sh
//! dynamo-harness conform --subjects rust,'cmd:rust-worker=dynamo-harness worker' --group A
//! ```
//!
//! One request per line in, one response per line out, in order, flushed after each; blank lines get no answer.
//! The end of stdin is the lifeline: the worker exits 0 there, so it never outlives the harness that started it.
//! Nothing but responses goes to stdout.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Args;
use dynamo_session::clock::SystemClock;
use dynamo_session_protocol::CompatSession;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWrite, AsyncWriteExt, BufReader};

use crate::protocol::{Hello, HelloCan, PROTOCOL_VERSION, is_hello};

/// The name this worker gives in `hello`.
pub const WORKER_NAME: &str = "dynamo-harness-worker";

/// `dynamo-harness worker` takes no options (its help text is on [`super::Command::Worker`]).
#[derive(Debug, Args)]
pub struct WorkerArgs {}

/// What this worker answers to `hello`: it honours frozen and offset clocks and `set_clock`, as the compat
/// layer does.
pub fn hello() -> Hello {
    Hello {
        name: WORKER_NAME.to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        protocol: PROTOCOL_VERSION,
        can: HelloCan {
            freeze_clock: true,
            move_clock: true,
        },
        deviations_of: Some("rust".to_owned()),
    }
}

pub async fn run(_args: WorkerArgs) -> anyhow::Result<ExitCode> {
    serve(BufReader::new(tokio::io::stdin()), tokio::io::stdout()).await?;
    Ok(ExitCode::SUCCESS)
}

/// Answers every request line of `input` on `output` until the end of `input`.
pub async fn serve(
    mut input: impl AsyncBufRead + Unpin,
    mut output: impl AsyncWrite + Unpin,
) -> anyhow::Result<()> {
    let mut session = CompatSession::new(Arc::new(SystemClock));
    let mut raw = Vec::new();
    loop {
        raw.clear();
        if input
            .read_until(b'\n', &mut raw)
            .await
            .context("reading a request from stdin")?
            == 0
        {
            return Ok(());
        }
        // A line that is not UTF-8 is not JSON either: the lossy text gets the protocol error it deserves.
        let line = String::from_utf8_lossy(&raw);
        if line.trim().is_empty() {
            continue;
        }
        let mut reply = answer(&mut session, &line).await;
        reply.push('\n');
        output
            .write_all(reply.as_bytes())
            .await
            .context("writing a response to stdout")?;
        output
            .flush()
            .await
            .context("writing a response to stdout")?;
    }
}

/// One request line in, one response line out (without the newline).
pub async fn answer(session: &mut CompatSession, line: &str) -> String {
    if is_hello(line) {
        return serde_json::to_string(&hello().response()).expect("a hello serialises");
    }
    session.handle_json(line).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::HandlerResponse;

    async fn converse(input: &[u8]) -> Vec<HandlerResponse> {
        let mut output = Vec::new();
        serve(input, &mut output).await.unwrap();
        String::from_utf8(output)
            .unwrap()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    #[tokio::test]
    async fn answers_hello_then_requests_in_order_until_the_end_of_input() {
        // Port 1 refuses connections; new_handler, open and gc send nothing, so they answer true regardless.
        let lines: [&[u8]; 8] = [
            br#"{"op":"hello"}"#,
            b"",
            br#"{"op":"read","id":"x"}"#,
            br#"{"op":"new_handler","client":{"endpoint":"http://127.0.0.1:1","region":"us-east-1","key":"k","secret":"s","retries":0},"config":{},"ini":{},"clock":{"mode":"frozen","at":5}}"#,
            br#"{"op":"set_clock","clock":{"mode":"offset","seconds":-3}}"#,
            br#"{"op":"open","save_path":"","name":"CAKEPHP"}"#,
            b"not json \xff",
            br#"{"op":"gc","max_lifetime":1440}"#,
        ];
        // The last line has no newline: the end of input ends it.
        let input = lines.join(&b'\n');
        let responses = converse(&input).await;
        assert_eq!(responses.len(), 7, "{responses:?}");
        assert_eq!(Hello::from_response(&responses[0]).unwrap(), hello());
        assert_eq!(
            responses[1].exception.as_ref().unwrap().class,
            "HarnessProtocolError"
        );
        for at in [2, 3, 4, 6] {
            assert_eq!(responses[at].value, serde_json::Value::Bool(true), "{at}");
        }
        assert_eq!(
            responses[5].exception.as_ref().unwrap().class,
            "HarnessProtocolError"
        );
    }
}
