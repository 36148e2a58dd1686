//! HTTP-level steps: a client with its own session cookie and User-Agent, speaking the contract in
//! docs/seams.md to a subject's web app.

use reqwest::header::{COOKIE, SET_COOKIE, USER_AGENT};
use serde_json::Value;

use super::mismatch::{Aspect, Findings};
use crate::scenario::{CookieExpectation, HttpRequest, StepExpect};
use dynamo_wire::expect::{Bindings, NowWindow, match_json};

pub use crate::environment::COOKIE_NAME;

/// What the response did to the session cookie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CookieChange {
    /// No `Set-Cookie` for the session.
    None,
    /// A session id different from the one the client held.
    New(String),
    /// The same id again (a refreshed cookie).
    Same,
    /// Deleted (empty value or an expiry in the past).
    Cleared,
}

/// One client: its cookie jar holds the session cookie. A clone is the same browser in another tab.
#[derive(Clone)]
pub struct HttpSession {
    base_url: String,
    /// The second app of a pair; requests with `app: partner` go there, with the same cookie.
    partner_url: Option<String>,
    client: reqwest::Client,
    cookie: Option<String>,
    /// The session cookie's name: COOKIE_NAME, or on a shared table the scope's (it carries the key prefix).
    cookie_name: String,
    user_agent: String,
}

pub struct HttpReply {
    pub status: u16,
    pub body: Value,
    pub cookie: CookieChange,
}

impl HttpSession {
    pub fn new(base_url: &str, partner_url: Option<&str>) -> Self {
        HttpSession {
            base_url: base_url.trim_end_matches('/').to_owned(),
            partner_url: partner_url.map(|u| u.trim_end_matches('/').to_owned()),
            client: reqwest::Client::new(),
            cookie: None,
            cookie_name: crate::environment::table::scope()
                .map_or_else(|| COOKIE_NAME.to_owned(), |s| s.cookie),
            user_agent: "dynamo-harness".to_owned(),
        }
    }

    /// The session id the client holds now.
    pub fn session_id(&self) -> Option<&str> {
        self.cookie.as_deref()
    }

    /// Takes what another tab's response did to the session cookie.
    pub fn absorb(&mut self, change: &CookieChange) {
        match change {
            CookieChange::None | CookieChange::Same => {}
            CookieChange::New(id) => self.cookie = Some(id.clone()),
            CookieChange::Cleared => self.cookie = None,
        }
    }

    /// `GET path` without the session cookie (the hold endpoints touch no session).
    pub async fn get(&self, path: &str) -> anyhow::Result<HttpReply> {
        self.clone().send(&Self::plain("GET", path)).await
    }

    /// `POST path` without the session cookie and without a body.
    pub async fn post(&self, path: &str) -> anyhow::Result<HttpReply> {
        self.clone().send(&Self::plain("POST", path)).await
    }

    fn plain(method: &str, path: &str) -> HttpRequest {
        HttpRequest {
            method: method.to_owned(),
            path: path.to_owned(),
            body: None,
            user_agent: None,
            app: None,
        }
    }

    pub async fn send(&mut self, request: &HttpRequest) -> anyhow::Result<HttpReply> {
        if let Some(agent) = &request.user_agent {
            self.user_agent = agent.clone();
        }
        let method = reqwest::Method::from_bytes(request.method.as_bytes())?;
        let base = match request.app.as_deref() {
            Some("partner") => self.partner_url.as_deref().ok_or_else(|| {
                anyhow::anyhow!("a step names the partner app, but this subject is a single app")
            })?,
            _ => self.base_url.as_str(),
        };
        let url = format!("{base}{}", request.path);
        let mut builder = self
            .client
            .request(method, &url)
            .header(USER_AGENT, &self.user_agent);
        if let Some(id) = &self.cookie {
            builder = builder.header(COOKIE, format!("{}={id}", self.cookie_name));
        }
        if let Some(body) = &request.body {
            builder = builder.json(body);
        }
        let response = builder
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("{} {url}: {e}", request.method))?;
        let status = response.status().as_u16();
        let mut change = CookieChange::None;
        for header in response.headers().get_all(SET_COOKIE) {
            if let Some(set) = header
                .to_str()
                .ok()
                .and_then(|h| parse_set_cookie_of(h, &self.cookie_name))
            {
                change = match set {
                    None => {
                        self.cookie = None;
                        CookieChange::Cleared
                    }
                    Some(id) if self.cookie.as_deref() == Some(id.as_str()) => CookieChange::Same,
                    Some(id) => {
                        self.cookie = Some(id.clone());
                        CookieChange::New(id)
                    }
                };
            }
        }
        let text = response.text().await?;
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Ok(HttpReply {
            status,
            body,
            cookie: change,
        })
    }
}

#[cfg(test)]
fn parse_set_cookie(header: &str) -> Option<Option<String>> {
    parse_set_cookie_of(header, COOKIE_NAME)
}

/// `Some(Some(id))` for a session cookie set, `Some(None)` for one deleted, `None` for another cookie.
fn parse_set_cookie_of(header: &str, cookie: &str) -> Option<Option<String>> {
    let mut parts = header.split(';').map(str::trim);
    let (name, value) = parts.next()?.split_once('=')?;
    if name != cookie {
        return None;
    }
    // PHP sends a deletion (setcookie with a past time, as CakePHP's renew does) as `Max-Age=0`.
    let expired = parts.any(|attribute| {
        let lower = attribute.to_ascii_lowercase();
        lower == "max-age=0" || lower.starts_with("max-age=-")
    });
    if value.is_empty() || value == "deleted" || expired {
        Some(None)
    } else {
        Some(Some(value.to_owned()))
    }
}

impl HttpReply {
    pub fn check(
        &self,
        expect: Option<&StepExpect>,
        label: &str,
        bindings: &mut Bindings,
        findings: &mut Findings,
    ) {
        let status_wanted = expect.and_then(|e| e.status).unwrap_or(200);
        if self.status != status_wanted {
            findings.at(
                label,
                Aspect::Status,
                format!(
                    "expected {status_wanted}, got {} ({})",
                    self.status, self.body
                ),
            );
        }
        let Some(expect) = expect else { return };
        if let Some(want) = &expect.json {
            let got = subset_like(want, &self.body);
            let now = NowWindow::at(0);
            let mut lines = Vec::new();
            match_json(want, &got, "body", now, bindings, &mut lines);
            findings.lines(Some(label), Aspect::Body, lines);
        }
        if let Some(want) = &expect.cookie {
            let ok = matches!(
                (want, &self.cookie),
                (CookieExpectation::New, CookieChange::New(_))
                    | (
                        CookieExpectation::Same,
                        CookieChange::Same | CookieChange::None
                    )
                    | (CookieExpectation::Cleared, CookieChange::Cleared)
                    | (CookieExpectation::None, CookieChange::None)
            );
            if !ok {
                findings.at(
                    label,
                    Aspect::Cookie,
                    format!("expected {want:?}, got {:?}", self.cookie),
                );
            }
        }
    }
}

/// The part of `actual` that `want` talks about: maps keep only the keys `want` names, so `json:` checks a subset.
fn subset_like(want: &Value, actual: &Value) -> Value {
    match (want, actual) {
        (Value::Object(want), Value::Object(actual)) => Value::Object(
            want.iter()
                .filter_map(|(k, w)| actual.get(k).map(|a| (k.clone(), subset_like(w, a))))
                .collect(),
        ),
        (_, actual) => actual.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_cookie_headers_are_read_like_a_browser() {
        assert_eq!(
            parse_set_cookie(
                "CAKEPHP=abc; expires=Mon, 30-Nov-2026 10:00:00 GMT; path=/; HttpOnly"
            ),
            Some(Some("abc".to_owned()))
        );
        assert_eq!(
            parse_set_cookie("CAKEPHP=deleted; expires=Thu, 01-Jan-1970 00:00:01 GMT; Max-Age=0"),
            Some(None)
        );
        assert_eq!(parse_set_cookie("CAKEPHP=; Max-Age=0"), Some(None));
        assert_eq!(parse_set_cookie("OTHER=1"), None);
    }

    #[test]
    fn json_checks_look_at_a_subset() {
        let want = serde_json::json!({"data": {"Foo": "bar"}});
        let got = serde_json::json!({"id": "x", "data": {"Foo": "bar", "n": 1}});
        assert_eq!(
            subset_like(&want, &got),
            serde_json::json!({"data": {"Foo": "bar"}})
        );
    }
}
