//! The goose transactions: one small function per request of the HTTP contract (docs/seams.md), each
//! checking its answer, with the session cookie kept per user by hand.
//!
//! Cookies are handled here rather than by a cookie jar because the scenarios need what a jar cannot do:
//! share one cookie among many users (`hot-session`), and forget a cookie after logout (`login-churn`: CakePHP's
//! destroy does not clear the cookie, and sending it again would re-create the session under the same id,
//! spec §4.6 point 14). It also lets every user share one HTTP client and its connection pool.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use goose::goose::{GooseMethod, GooseRequest, GooseUser, TransactionError, TransactionResult};
use goose::metrics::GooseRequestMetric;
use reqwest::header::{COOKIE, HeaderMap, SET_COOKIE};
use serde_json::{Value, json};

/// The session cookie both test apps use (CakePHP's `Session.cookie`).
pub const COOKIE_NAME: &str = "CAKEPHP";

/// The session key `hot-session` increments.
pub const COUNTER_KEY: &str = "counter";

/// The user agent of every load request. The apps tie a session to its user agent (CakePHP's checkAgent), so
/// the harness's own requests on a shared session (priming, the final read) must send the same one.
pub const USER_AGENT: &str = concat!("dynamo-harness-load/", env!("CARGO_PKG_VERSION"));

/// How long a user pauses after a request that got no answer at all (connection refused, reset, timeout).
const TRANSPORT_ERROR_PAUSE: std::time::Duration = std::time::Duration::from_millis(100);

/// State shared by every user of a run, and read by the harness during and after it.
#[derive(Debug, Default)]
pub struct Shared {
    /// HTTP requests answered (any status), for progress and the requests cap.
    pub requests: AtomicU64,
    /// Requests that failed: transport error, non-2xx status, or an answer that breaks the contract.
    pub failures: AtomicU64,
    /// `POST /session/increment` answered with a number: the increments the shared counter should show.
    pub increments_ok: AtomicU64,
    /// The highest counter value any increment returned.
    pub increment_max: AtomicU64,
    /// Browse reads that found the user's session gone (no id): lost sessions.
    pub sessions_lost: AtomicU64,
    pub gc_runs: AtomicU64,
    /// The hot-session cookie value, set by the harness before users start.
    pub hot_cookie: Mutex<Option<String>>,
    /// Requests after which the run is stopped (goose's killswitch).
    pub max_requests: u64,
}

impl Shared {
    pub fn new(max_requests: u64) -> Arc<Shared> {
        Arc::new(Shared {
            max_requests,
            ..Shared::default()
        })
    }

    fn hot_cookie(&self) -> Option<String> {
        self.hot_cookie
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// A user's own session cookie (goose per-user data).
#[derive(Debug, Clone, Default)]
struct UserCookie(Option<String>);

/// Which cookie a request carries.
#[derive(Debug, Clone, Copy)]
enum CookieUse {
    /// The user's own (kept from `Set-Cookie` answers).
    Own,
    /// The run's shared hot-session cookie; answers do not change it.
    Shared,
}

/// A checked answer: status 2xx and a JSON body of the contract's shape.
struct Answer {
    body: Value,
    /// Goose's record of the request, to mark it failed when the body breaks a scenario's expectation.
    request: GooseRequestMetric,
}

/// Sends one contract request and checks it. A failed check marks the goose request failed (so it shows in
/// goose's report) and ends the transaction with that error.
async fn call(
    user: &mut GooseUser,
    shared: &Shared,
    method: GooseMethod,
    path: &str,
    body: Option<Value>,
    cookie: CookieUse,
) -> Result<Answer, Box<TransactionError>> {
    let cookie_value = match cookie {
        CookieUse::Own => user
            .get_session_data::<UserCookie>()
            .and_then(|c| c.0.clone()),
        CookieUse::Shared => shared.hot_cookie(),
    };
    let mut builder = user.get_request_builder(&method, path)?;
    if let Some(value) = &cookie_value {
        builder = builder.header(COOKIE, format!("{COOKIE_NAME}={value}"));
    }
    if let Some(body) = &body {
        builder = builder.json(body);
    }
    let request = GooseRequest::builder()
        .method(method)
        .path(path)
        .set_request_builder(builder)
        .build();
    let mut goose = user.request(request).await?;
    let count = shared.requests.fetch_add(1, Ordering::Relaxed) + 1;
    if count >= shared.max_requests {
        goose::trigger_killswitch("the profile's max_requests was reached");
    }
    let response = match goose.response {
        Ok(response) => response,
        Err(error) => {
            shared.failures.fetch_add(1, Ordering::Relaxed);
            // A target that refuses connections answers at once; without a pause the user would spin, making
            // thousands of failed requests a second against a deployment that is already down.
            tokio::time::sleep(TRANSPORT_ERROR_PAUSE).await;
            // Goose has already counted the transport error as a failed request.
            return Err(Box::new(TransactionError::Reqwest(error)));
        }
    };
    let status = response.status();
    if let CookieUse::Own = cookie
        && let Some(update) = cookie_update(response.headers())
    {
        user.set_session_data(UserCookie(update));
    }
    // Headers are kept only for goose's error log, so only for an error status.
    let headers = (!status.is_success()).then(|| response.headers().clone());
    let text = response.text().await.unwrap_or_default();
    let tag = match &headers {
        Some(_) => format!("HTTP {status}"),
        None => match serde_json::from_str::<Value>(&text) {
            Ok(body) if body.is_object() => {
                return Ok(Answer {
                    body,
                    request: goose.request,
                });
            }
            _ => "answer is not a JSON object".to_owned(),
        },
    };
    shared.failures.fetch_add(1, Ordering::Relaxed);
    failed(user, &mut goose.request, &tag, headers.as_ref(), &text)
}

/// Marks the request failed in goose's metrics and ends the transaction with the error.
fn failed<T>(
    user: &mut GooseUser,
    request: &mut GooseRequestMetric,
    tag: &str,
    headers: Option<&HeaderMap>,
    body: &str,
) -> Result<T, Box<TransactionError>> {
    match user.set_failure(tag, request, headers, Some(body)) {
        Err(error) => Err(error),
        // set_failure always answers an error; should that change, the failure still ends the transaction.
        Ok(()) => Err(Box::new(TransactionError::Custom(tag.to_owned()))),
    }
}

/// Marks an answered request failed because its body breaks the scenario's expectation (goose counted it a
/// success on its 2xx status).
fn unexpected(
    user: &mut GooseUser,
    shared: &Shared,
    answer: &mut Answer,
    what: &str,
) -> TransactionResult {
    shared.failures.fetch_add(1, Ordering::Relaxed);
    let body = answer.body.to_string();
    failed(user, &mut answer.request, what, None, &body)
}

/// What the answer's `Set-Cookie` headers do to our session cookie: `Some(Some(v))` sets it, `Some(None)`
/// deletes it (PHP's `deleted` value or `Max-Age=0`), `None` leaves it. The last one for our cookie wins, as in
/// a browser (renew sends a deletion and then the new id).
fn cookie_update(headers: &HeaderMap) -> Option<Option<String>> {
    let mut update = None;
    for header in headers.get_all(SET_COOKIE) {
        let Ok(text) = header.to_str() else { continue };
        let mut parts = text.split(';').map(str::trim);
        let Some((name, value)) = parts.next().and_then(|p| p.split_once('=')) else {
            continue;
        };
        if name != COOKIE_NAME {
            continue;
        }
        let expired = parts.any(|p| p.eq_ignore_ascii_case("max-age=0"));
        update =
            Some((!expired && !value.is_empty() && value != "deleted").then(|| value.to_owned()));
    }
    update
}

fn session_id(answer: &Answer) -> Option<&str> {
    answer.body.get("id").and_then(Value::as_str)
}

/// Browse, on start: log in once (a new session with an Auth user).
pub async fn login(user: &mut GooseUser, shared: &Shared) -> TransactionResult {
    user.set_session_data(UserCookie(None));
    let n = user.weighted_users_index;
    let values = json!({"values": {
        "Auth.User.id": n,
        "Auth.User.username": format!("load-user-{n}"),
        "Auth.User.roles": ["member"],
        "Prefs.theme": "dark",
    }});
    let mut answer = call(
        user,
        shared,
        GooseMethod::Post,
        "/session/set",
        Some(values),
        CookieUse::Own,
    )
    .await?;
    let has_cookie = user
        .get_session_data::<UserCookie>()
        .is_some_and(|c| c.0.is_some());
    if session_id(&answer).is_none() || !has_cookie {
        return unexpected(user, shared, &mut answer, "login set no session cookie");
    }
    Ok(())
}

/// Browse and login-churn: read the whole session; it must still be there.
pub async fn read(user: &mut GooseUser, shared: &Shared) -> TransactionResult {
    let mut answer = call(
        user,
        shared,
        GooseMethod::Get,
        "/session",
        None,
        CookieUse::Own,
    )
    .await?;
    if session_id(&answer).is_none() {
        shared.sessions_lost.fetch_add(1, Ordering::Relaxed);
        return unexpected(user, shared, &mut answer, "the session is gone");
    }
    Ok(())
}

/// Browse: a small write (a click that changes state).
pub async fn write(user: &mut GooseUser, shared: &Shared) -> TransactionResult {
    let stamp = shared.requests.load(Ordering::Relaxed);
    let body = json!({"values": {"Activity.last": stamp}});
    call(
        user,
        shared,
        GooseMethod::Post,
        "/session/set",
        Some(body),
        CookieUse::Own,
    )
    .await?;
    Ok(())
}

/// Login-churn, step 1: a visitor without a cookie logs in, which makes a new session.
pub async fn churn_login(user: &mut GooseUser, shared: &Shared) -> TransactionResult {
    login(user, shared).await
}

/// Login-churn: regenerate the id, as a login does.
pub async fn renew(user: &mut GooseUser, shared: &Shared) -> TransactionResult {
    call(
        user,
        shared,
        GooseMethod::Post,
        "/session/renew",
        None,
        CookieUse::Own,
    )
    .await?;
    Ok(())
}

/// Login-churn, last step: log out, then forget the cookie so the next pass is a new visitor.
pub async fn logout(user: &mut GooseUser, shared: &Shared) -> TransactionResult {
    let result = call(
        user,
        shared,
        GooseMethod::Post,
        "/session/destroy",
        None,
        CookieUse::Own,
    )
    .await;
    user.set_session_data(UserCookie(None));
    result.map(|_| ())
}

/// Hot-session: increment the shared counter.
pub async fn increment(user: &mut GooseUser, shared: &Shared) -> TransactionResult {
    let body = json!({"key": COUNTER_KEY});
    let mut answer = call(
        user,
        shared,
        GooseMethod::Post,
        "/session/increment",
        Some(body),
        CookieUse::Shared,
    )
    .await?;
    match answer.body.get("value").and_then(Value::as_u64) {
        Some(value) => {
            shared.increments_ok.fetch_add(1, Ordering::Relaxed);
            shared.increment_max.fetch_max(value, Ordering::Relaxed);
            Ok(())
        }
        None => unexpected(user, shared, &mut answer, "increment answered no number"),
    }
}

/// Gc: the handler's garbageCollect().
pub async fn gc(user: &mut GooseUser, shared: &Shared) -> TransactionResult {
    call(user, shared, GooseMethod::Post, "/gc", None, CookieUse::Own).await?;
    shared.gc_runs.fetch_add(1, Ordering::Relaxed);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for v in values {
            map.append(SET_COOKIE, HeaderValue::from_str(v).unwrap());
        }
        map
    }

    #[test]
    fn set_cookie_answers() {
        assert_eq!(cookie_update(&headers(&[])), None);
        assert_eq!(
            cookie_update(&headers(&[
                "CAKEPHP=abc; expires=Sun, 29 Nov 2026 22:20:37 GMT; Max-Age=28800; path=/; HttpOnly"
            ])),
            Some(Some("abc".to_owned()))
        );
        // renew: the deletion of the old id, then the new id.
        assert_eq!(
            cookie_update(&headers(&[
                "CAKEPHP=deleted; expires=Thu, 01 Jan 1970 00:00:01 GMT; Max-Age=0; path=/",
                "CAKEPHP=new; path=/; HttpOnly",
            ])),
            Some(Some("new".to_owned()))
        );
        assert_eq!(
            cookie_update(&headers(&[
                "CAKEPHP=deleted; expires=Thu, 01 Jan 1970 00:00:01 GMT; Max-Age=0; path=/"
            ])),
            Some(None)
        );
        assert_eq!(cookie_update(&headers(&["OTHER=x; path=/"])), None);
    }
}
