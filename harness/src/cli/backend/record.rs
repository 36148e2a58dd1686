//! `backend up --record DIR --app URL`: a running web app's DynamoDB traffic, per HTTP request.
//!
//! The app talks to the backend through a [`WireProxy`](dynamo_wire::WireProxy) whose records come here
//! (its sink), and the browser talks to the app through a [`FrontProxy`](dynamo_wire::FrontProxy) whose
//! exchanges come here too (its observer). Each record is tied to the request that caused it and written
//! at once, normalised as `fixtures/sdk-traces` is, to `DIR/trace.jsonl`; each request becomes a line of
//! `DIR/requests.jsonl` when its response ends.
//!
//! Attribution, for a call that arrived (the proxy's `t_unix`) while:
//! * no request was in flight: the request whose calls came on the same client connection before (PHP opens
//!   one per request, and its session write at shutdown often arrives after the response has gone), else
//!   step `(no request)` (a cron gc, a CLI script);
//! * one request was in flight: that request;
//! * several were: the one whose session ids (its Cookie, its response's Set-Cookie so far, the keys of
//!   calls already tied to it) include an id in the call's `Key`/`Keys`; when that is none or more than one
//!   (two tabs share a cookie; a new session's first calls while another request runs; a Scan has no key),
//!   the step names every candidate, `A | B`, and each candidate's line lists the call under `maybe_ops`.
//!   Nothing is guessed.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use dynamo_wire::normalise::{PHP_ID_LEN, is_php_id};
use dynamo_wire::{
    ExchangeEnd, ExchangeStart, FrontObserver, NormaliseOptions, RecordSink, WireRecord, normalise,
    to_python_json,
};
use reqwest::header::{COOKIE, HeaderMap, HeaderName, SET_COOKIE};
use serde_json::{Value, json};

/// The step of a call made while no request was in flight.
pub const NO_REQUEST: &str = "(no request)";
/// The file names inside the record directory.
pub const TRACE_FILE: &str = "trace.jsonl";
pub const REQUESTS_FILE: &str = "requests.jsonl";
/// How long an answered request stays a candidate for calls that arrived before its end but were recorded
/// after it (a call's record is made when the call returns).
const KEEP_ENDED_S: f64 = 60.0;

/// What a recording wrote, for the closing line.
#[derive(Debug, Clone)]
pub struct Totals {
    pub requests: u64,
    pub calls: u64,
    pub ambiguous: u64,
    pub files: Vec<PathBuf>,
    /// The first failure to write a file, if any (the recording went on).
    pub write_error: Option<String>,
}

/// Refuses a record directory that already holds a recording (a second run would mix two numberings);
/// creates it if missing.
pub fn prepare_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("creating the record directory {}", dir.display()))?;
    for name in [TRACE_FILE, REQUESTS_FILE] {
        let path = dir.join(name);
        if path.exists() {
            anyhow::bail!(
                "{} already exists: give --record a new directory (or move the old recording away)",
                path.display()
            );
        }
    }
    Ok(())
}

/// Ties calls to requests and writes both files; shared by the front (observer) and the proxy (sink).
pub struct Recorder {
    cookie: String,
    key_prefix: String,
    state: Mutex<State>,
}

struct State {
    trace: LiveTrace,
    requests_path: PathBuf,
    requests_file: File,
    exchanges: BTreeMap<u64, Exchange>,
    /// The request each client connection's calls were last tied to: PHP opens a connection per request, and
    /// its session write at shutdown often arrives after the front has passed the response on.
    connections: HashMap<String, u64>,
    requests: u64,
    calls: u64,
    ambiguous: u64,
    write_error: Option<String>,
}

struct Exchange {
    step: String,
    method: String,
    target: String,
    had_cookie: bool,
    /// Session ids (without the key prefix) this request is known to use.
    ids: HashSet<String>,
    started_unix: f64,
    started: Instant,
    ended_unix: Option<f64>,
    status: Option<u16>,
    /// Trace `i` and op of the calls tied to it, and of those it may have made.
    calls: Vec<(u64, String)>,
    maybe: Vec<(u64, String)>,
    written: bool,
}

impl Recorder {
    /// Creates `DIR/trace.jsonl` and `DIR/requests.jsonl` (neither may exist). `session_name` is the cookie's
    /// name, which with `_` also prefixes the table's keys (`CAKEPHP` → `CAKEPHP_<id>`).
    pub fn create(dir: &Path, session_name: &str) -> anyhow::Result<Arc<Recorder>> {
        let key_prefix = format!("{session_name}_");
        let trace = LiveTrace::create(&dir.join(TRACE_FILE), &key_prefix)?;
        let requests_path = dir.join(REQUESTS_FILE);
        let requests_file = create_new(&requests_path)?;
        Ok(Arc::new(Recorder {
            cookie: session_name.to_owned(),
            key_prefix,
            state: Mutex::new(State {
                trace,
                requests_path,
                requests_file,
                exchanges: BTreeMap::new(),
                connections: HashMap::new(),
                requests: 0,
                calls: 0,
                ambiguous: 0,
                write_error: None,
            }),
        }))
    }

    /// The proxy's sink, handing records to this recorder.
    pub fn sink(self: &Arc<Self>) -> RecordSink {
        let recorder = Arc::clone(self);
        Arc::new(move |record| recorder.record(record))
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn record(&self, mut raw: WireRecord) {
        let at = raw.t_unix.unwrap_or_else(unix_now);
        let ids = key_ids(&raw.request, &self.key_prefix);
        let mut state = self.state();
        let candidates: Vec<u64> = state
            .exchanges
            .iter()
            .filter(|(_, x)| x.started_unix <= at && x.ended_unix.is_none_or(|end| end >= at))
            .map(|(n, _)| *n)
            .collect();
        let by_connection = state.connections.get(&raw.conn).copied();
        let owners: Vec<u64> = match (candidates.len(), by_connection) {
            // After its response has gone (PHP's shutdown write), a call goes where its connection's went.
            // Only then: a client that pools connections (the Rust app's SDK) moves them between requests.
            (0, Some(n)) => vec![n],
            (0 | 1, _) => candidates,
            _ => {
                let matching: Vec<u64> = candidates
                    .iter()
                    .copied()
                    .filter(|n| ids.iter().any(|id| state.exchanges[n].ids.contains(id)))
                    .collect();
                if matching.is_empty() {
                    candidates
                } else {
                    matching
                }
            }
        };
        raw.step = match owners.as_slice() {
            [] => NO_REQUEST.to_owned(),
            owners => owners
                .iter()
                .map(|n| state.exchanges[n].step.as_str())
                .collect::<Vec<_>>()
                .join(" | "),
        };
        let op = match &raw.error_type {
            Some(error) => format!("{}!{error}", raw.op),
            None => raw.op.clone(),
        };
        let i = match state.trace.push(&raw) {
            Ok(i) => i,
            Err(e) => {
                state.note_error(&e);
                return;
            }
        };
        state.calls += 1;
        if owners.len() > 1 {
            state.ambiguous += 1;
        }
        for n in &owners {
            let exchange = state.exchanges.get_mut(n).expect("an owner is a candidate");
            if owners.len() == 1 {
                exchange.calls.push((i, op.clone()));
                exchange.ids.extend(ids.iter().cloned());
                state.connections.insert(raw.conn.clone(), *n);
            } else {
                exchange.maybe.push((i, op.clone()));
            }
        }
    }

    /// Writes a line for every request still open (cut by the stop), and returns what was written.
    pub fn finish(&self) -> Totals {
        let mut state = self.state();
        let open: Vec<u64> = state
            .exchanges
            .iter()
            .filter(|(_, x)| !x.written)
            .map(|(n, _)| *n)
            .collect();
        for n in open {
            state.write_request(n, None);
        }
        Totals {
            requests: state.requests,
            calls: state.calls,
            ambiguous: state.ambiguous,
            files: vec![state.trace.path.clone(), state.requests_path.clone()],
            write_error: state.write_error.clone(),
        }
    }

    /// The session id in each `NAME=value` of `Cookie` or `Set-Cookie` headers, for this session's name.
    fn cookie_ids(&self, headers: &HeaderMap, name: HeaderName) -> Vec<String> {
        let set_cookie = name == SET_COOKIE;
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| {
                // A Set-Cookie header is one cookie and its attributes; a Cookie header lists cookies.
                let pairs: Vec<&str> = match set_cookie {
                    true => v.split(';').take(1).collect(),
                    false => v.split(';').collect(),
                };
                pairs
                    .into_iter()
                    .filter_map(|pair| pair.trim().split_once('='))
                    .filter(|(k, value)| *k == self.cookie && !value.is_empty())
                    .map(|(_, value)| value.trim_matches('"').to_owned())
                    .collect::<Vec<_>>()
            })
            .collect()
    }
}

impl FrontObserver for Recorder {
    fn started(&self, exchange: &ExchangeStart<'_>) {
        let ids: HashSet<String> = self
            .cookie_ids(exchange.headers, COOKIE)
            .into_iter()
            .collect();
        let mut state = self.state();
        state.requests += 1;
        state.exchanges.insert(
            exchange.n,
            Exchange {
                step: format!("{} {}", exchange.method, exchange.target),
                method: exchange.method.to_string(),
                target: exchange.target.to_owned(),
                had_cookie: !ids.is_empty(),
                ids,
                started_unix: unix_now(),
                started: Instant::now(),
                ended_unix: None,
                status: None,
                calls: Vec::new(),
                maybe: Vec::new(),
                written: false,
            },
        );
    }

    fn answered(&self, n: u64, status: reqwest::StatusCode, headers: &HeaderMap) {
        let ids = self.cookie_ids(headers, SET_COOKIE);
        let mut state = self.state();
        if let Some(exchange) = state.exchanges.get_mut(&n) {
            exchange.status = Some(status.as_u16());
            exchange.ids.extend(ids);
        }
    }

    fn ended(&self, n: u64, end: ExchangeEnd) {
        let now = unix_now();
        let mut state = self.state();
        let Some(exchange) = state.exchanges.get_mut(&n) else {
            return;
        };
        if exchange.written {
            return;
        }
        exchange.ended_unix = Some(now);
        exchange.status = end.status.or(exchange.status);
        state.write_request(n, Some(end));
        state.exchanges.retain(|_, x| {
            !x.written || x.ended_unix.is_none_or(|ended| now - ended < KEEP_ENDED_S)
        });
    }
}

impl State {
    /// The request's line of `requests.jsonl`; `end` is `None` for a request the stop cut.
    fn write_request(&mut self, n: u64, end: Option<ExchangeEnd>) {
        let Some(exchange) = self.exchanges.get_mut(&n) else {
            return;
        };
        exchange.written = true;
        let duration_ms = (exchange.started.elapsed().as_secs_f64() * 10_000.0).round() / 10.0;
        let ops: Vec<&str> = exchange.calls.iter().map(|(_, op)| op.as_str()).collect();
        let calls: Vec<u64> = exchange.calls.iter().map(|(i, _)| *i).collect();
        let mut line = json!({
            "n": n,
            "step": exchange.step,
            "method": exchange.method,
            "path": exchange.target,
            "session_cookie": exchange.had_cookie,
            "status": exchange.status,
            "duration_ms": duration_ms,
            "ops": ops,
            "calls": calls,
        });
        if !exchange.maybe.is_empty() {
            let ops: Vec<&str> = exchange.maybe.iter().map(|(_, op)| op.as_str()).collect();
            let calls: Vec<u64> = exchange.maybe.iter().map(|(i, _)| *i).collect();
            line["maybe_ops"] = json!(ops);
            line["maybe_calls"] = json!(calls);
        }
        match end {
            Some(ExchangeEnd {
                error: Some(error), ..
            }) => line["error"] = json!(error),
            Some(_) => {}
            None => line["unfinished"] = json!(true),
        }
        // The path and step go through the trace's numbering, so a session id in a URL is replaced
        // the same way in both files.
        for key in ["step", "path"] {
            if let Some(text) = line[key].as_str().map(str::to_owned) {
                line[key] = json!(self.trace.label(&text));
            }
        }
        let mut text = to_python_json(&line);
        text.push('\n');
        let result = self
            .requests_file
            .write_all(text.as_bytes())
            .and_then(|()| self.requests_file.flush())
            .with_context(|| format!("writing {}", self.requests_path.display()));
        if let Err(e) = result {
            self.note_error(&e);
        }
    }

    /// Reports the first write failure on stderr (a full disk would otherwise repeat it per call).
    fn note_error(&mut self, error: &anyhow::Error) {
        if self.write_error.is_none() {
            eprintln!("[record] {error:#}; the recording goes on, but the files are incomplete");
            self.write_error = Some(format!("{error:#}"));
        }
    }
}

/// The session ids (key prefix removed) in every `Key` object and `Keys` list of a request.
fn key_ids(request: &Value, prefix: &str) -> Vec<String> {
    fn strings_of_key(key: &Value, prefix: &str, out: &mut Vec<String>) {
        if let Some(attributes) = key.as_object() {
            for value in attributes.values() {
                if let Some(id) = value
                    .get("S")
                    .and_then(Value::as_str)
                    .and_then(|s| s.strip_prefix(prefix))
                {
                    out.push(id.to_owned());
                }
            }
        }
    }
    fn walk(v: &Value, prefix: &str, out: &mut Vec<String>) {
        match v {
            Value::Object(map) => {
                for (k, child) in map {
                    match (k.as_str(), child) {
                        ("Key", key) => strings_of_key(key, prefix, out),
                        ("Keys", Value::Array(keys)) => {
                            keys.iter().for_each(|key| strings_of_key(key, prefix, out))
                        }
                        _ => walk(child, prefix, out),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|item| walk(item, prefix, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(request, prefix, &mut out);
    out
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

fn create_new(path: &Path) -> anyhow::Result<File> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))
}

/// The trace file, normalised record by record with the numbering of the whole file, each line written
/// and flushed as it comes (Ctrl-C or a kill loses nothing).
///
/// `dynamo_wire::normalise` numbers session ids by first appearance within one call, so each record is
/// normalised behind a seed record whose step lists the ids seen so far, in their order: the seed takes
/// `<SID1>`..`<SIDk>`, and the record's new ids continue from there, exactly as a whole-file run would
/// number them. The seed grows with the distinct sessions of the recording (tens of bytes each).
struct LiveTrace {
    path: PathBuf,
    file: File,
    opts: NormaliseOptions,
    /// `PREFIXid1 PREFIXid2 ...`: the ids seen, in number order.
    seed: String,
    known: HashSet<String>,
    conns: HashMap<String, String>,
    first_dt: Option<f64>,
    written: u64,
}

impl LiveTrace {
    fn create(path: &Path, key_prefix: &str) -> anyhow::Result<LiveTrace> {
        Ok(LiveTrace {
            path: path.to_owned(),
            file: create_new(path)?,
            opts: NormaliseOptions {
                session_prefix: key_prefix.to_owned(),
                // `i` and connections are numbered here, over the whole file.
                renumber: false,
                ..NormaliseOptions::default()
            },
            seed: String::new(),
            known: HashSet::new(),
            conns: HashMap::new(),
            first_dt: None,
            written: 0,
        })
    }

    /// Normalises `raw`, appends it and returns its `i` in the file.
    fn push(&mut self, raw: &WireRecord) -> anyhow::Result<u64> {
        self.learn(&raw.step);
        self.learn_in(&raw.request);
        self.learn_in(&raw.response);
        let first_dt = *self.first_dt.get_or_insert(raw.dt_ms);
        let mut record = self.normalise_behind_seed(raw.clone(), first_dt)?;
        self.written += 1;
        record.i = self.written;
        let next = format!("C{}", self.conns.len() + 1);
        record.conn = self.conns.entry(raw.conn.clone()).or_insert(next).clone();
        let mut line = record.to_json_line();
        line.push('\n');
        self.file
            .write_all(line.as_bytes())
            .and_then(|()| self.file.flush())
            .with_context(|| format!("writing {}", self.path.display()))?;
        Ok(record.i)
    }

    /// `text` with the session ids in it replaced as in the trace.
    fn label(&mut self, text: &str) -> String {
        self.learn(text);
        let probe = probe_record(text.to_owned(), 0.0);
        match self.normalise_behind_seed(probe, 0.0) {
            Ok(record) => record.step,
            // A probe has no times to normalise, so this does not happen; an unreplaced label beats none.
            Err(_) => text.to_owned(),
        }
    }

    fn normalise_behind_seed(
        &self,
        record: WireRecord,
        first_dt: f64,
    ) -> anyhow::Result<WireRecord> {
        let seed = probe_record(self.seed.clone(), first_dt);
        let mut out = normalise(&[seed, record], &self.opts).context("normalising a record")?;
        Ok(out.pop().expect("normalise returns one record per record"))
    }

    fn learn_in(&mut self, value: &Value) {
        match value {
            Value::String(s) => self.learn(s),
            Value::Array(items) => items.iter().for_each(|item| self.learn_in(item)),
            // Keys are attribute names, which normalisation leaves alone.
            Value::Object(map) => map.values().for_each(|child| self.learn_in(child)),
            _ => {}
        }
    }

    /// Adds the session ids in `s` not seen before, in order, scanning as normalisation does: after each
    /// key prefix, an id if one starts there.
    fn learn(&mut self, s: &str) {
        let prefix = self.opts.session_prefix.clone();
        let mut rest = s;
        while let Some(pos) = rest.find(&prefix) {
            rest = &rest[pos + prefix.len()..];
            if !is_php_id(rest) {
                continue;
            }
            let id = &rest[..PHP_ID_LEN];
            if self.known.contains(id) {
                rest = &rest[PHP_ID_LEN..];
                continue;
            }
            if self.is_whole_id(&rest[..PHP_ID_LEN], &rest[PHP_ID_LEN..]) {
                if !self.seed.is_empty() {
                    self.seed.push(' ');
                }
                self.seed.push_str(&prefix);
                self.seed.push_str(id);
                self.known.insert(id.to_owned());
                rest = &rest[PHP_ID_LEN..];
            }
        }
    }

    /// Whether normalisation takes `id` followed by `after` as an id (not the start of a longer token):
    /// asked of `normalise` itself, so its boundary rule is not restated here.
    fn is_whole_id(&self, id: &str, after: &str) -> bool {
        let next = after.chars().next().map(String::from).unwrap_or_default();
        let prefix = &self.opts.session_prefix;
        let probe = probe_record(format!("{prefix}{id}{next}"), 0.0);
        normalise(&[probe], &self.opts)
            .ok()
            .and_then(|mut out| out.pop())
            .is_some_and(|record| record.step.starts_with(&format!("{prefix}<SID1>")))
    }
}

/// A record carrying only a step (nothing timed), for seeding and probing the normalisation.
fn probe_record(step: String, dt_ms: f64) -> WireRecord {
    WireRecord {
        dt_ms,
        step,
        ..WireRecord::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaa";
    const B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbb";

    fn raw(i: u64, key: &str, data: &str) -> WireRecord {
        WireRecord {
            i,
            dt_ms: 1000.0 + i as f64,
            conn: format!("C{}", 10 + i),
            op: "UpdateItem".into(),
            target: "DynamoDB_20120810.UpdateItem".into(),
            request: json!({"Key": {"id": {"S": key}},
                            "AttributeUpdates": {"expires": {"Value": {"N": "1795962127"}},
                                                 "data": {"Value": {"S": data}}}}),
            status: 200,
            response: json!({}),
            t_unix: Some(1_795_962_067.5),
            ..probe_record("s".into(), 0.0)
        }
    }

    #[test]
    fn live_numbering_is_the_whole_files_numbering() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.jsonl");
        let mut live = LiveTrace::create(&path, "CAKEPHP_").unwrap();
        let records = [
            raw(1, &format!("CAKEPHP_{A}"), "x"),
            raw(2, &format!("CAKEPHP_{B}"), &format!("CAKEPHP_{A}0")),
            raw(3, &format!("CAKEPHP_{A}"), &format!("CAKEPHP_{B}")),
        ];
        for record in &records {
            live.push(record).unwrap();
        }
        let whole = normalise(&records, &NormaliseOptions::default()).unwrap();
        assert_eq!(dynamo_wire::read_trace(&path).unwrap(), whole);
        assert_eq!(live.label(&format!("GET /x?s={B}&k=CAKEPHP_{B}")), {
            format!("GET /x?s={B}&k=CAKEPHP_<SID2>")
        });
    }

    #[test]
    fn ids_come_from_keys_and_cookies() {
        let request = json!({"RequestItems": {"t": [{"DeleteRequest": {"Key": {"id": {"S": "CAKEPHP_x1"}}}}],
                                              "u": {"Keys": [{"id": {"S": "CAKEPHP_x2"}}, {"id": {"S": "other"}}]}}});
        assert_eq!(key_ids(&request, "CAKEPHP_"), ["x1", "x2"]);
        let dir = tempfile::tempdir().unwrap();
        let recorder = Recorder::create(dir.path(), "CAKEPHP").unwrap();
        let mut headers = HeaderMap::new();
        headers.append(COOKIE, "a=1; CAKEPHP=abc; b=2".parse().unwrap());
        headers.append(SET_COOKIE, "CAKEPHP=new; path=/; HttpOnly".parse().unwrap());
        headers.append(SET_COOKIE, "other=1; CAKEPHP=no".parse().unwrap());
        assert_eq!(recorder.cookie_ids(&headers, COOKIE), ["abc"]);
        assert_eq!(recorder.cookie_ids(&headers, SET_COOKIE), ["new"]);
    }
}
