//! The error policy of creates: what apply does when the POST of a user or a team fails. Pure.
//!
//! A re-run after any interruption must converge without duplicates, so a create that fails
//! because the object exists takes the object over, and a create whose answer was lost is
//! looked up before it is sent again. The client has already retried what is safe to retry;
//! it never repeats a POST whose connection dropped after sending, because the server may have
//! acted on it. This is the one place that decides, for users and teams alike.

use crate::scim::client::ClientError;
use crate::scim::client::retry::GiveUp;

/// How many times a create is sent when its answer is lost (checking in between that it was
/// not created).
pub const CREATE_ATTEMPTS: u32 = 3;

/// What to do after a create's request failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// 409: the object exists (an earlier run created it, or someone else did). Find it by
    /// name and set on it what the create would have; not finding it fails the step.
    Adopt,
    /// The POST was sent and its answer lost: the server may have created it. Find it by
    /// name: take it over if it is there, send the create again if it is not.
    LookUpAndResend,
    /// The step fails with the client's error.
    Fail,
}

/// The decision for `error`, the answer to the `sent`-th POST of one create (1 for the first).
pub fn on_create_error(error: &ClientError, sent: u32) -> Decision {
    match error {
        e if e.status() == Some(409) => Decision::Adopt,
        ClientError::Transport {
            why: GiveUp::MayHaveApplied,
            ..
        } if sent < CREATE_ATTEMPTS => Decision::LookUpAndResend,
        _ => Decision::Fail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::client::{Method, ScimError, TransportKind};

    fn status(status: u16) -> ClientError {
        ClientError::Scim(ScimError {
            status,
            scim_type: (status == 409).then(|| "uniqueness".to_string()),
            detail: "answered".into(),
            method: Method::Post,
            url: "https://scim.example/Users".into(),
            attempts: 1,
            refused_wait: None,
        })
    }

    fn transport(kind: TransportKind, why: GiveUp) -> ClientError {
        ClientError::Transport {
            method: Method::Post,
            url: "https://scim.example/Users".into(),
            kind,
            attempts: 1,
            why,
            message: "no answer".into(),
        }
    }

    #[test]
    fn issue12_each_create_failure_has_one_decision() {
        use Decision::*;
        use TransportKind::*;
        let cases = [
            // The object exists: take it over, on any attempt (also after a lost answer).
            (status(409), 1, Adopt),
            (status(409), CREATE_ATTEMPTS, Adopt),
            // The answer was lost: look, and send again while attempts are left.
            (
                transport(ConnectionLost, GiveUp::MayHaveApplied),
                1,
                LookUpAndResend,
            ),
            (
                transport(Timeout, GiveUp::MayHaveApplied),
                2,
                LookUpAndResend,
            ),
            (
                transport(ConnectionLost, GiveUp::MayHaveApplied),
                CREATE_ATTEMPTS,
                Fail,
            ),
            // Nothing reached the server, or the client gave up retrying: fail.
            (transport(Connect, GiveUp::Exhausted), 1, Fail),
            (transport(Timeout, GiveUp::Exhausted), 1, Fail),
            (transport(Other, GiveUp::NotRetryable), 1, Fail),
            (
                transport(ConnectionLost, GiveUp::RetryAfterTooLong),
                1,
                Fail,
            ),
            // Any other answer from the server: fail.
            (status(400), 1, Fail),
            (status(401), 1, Fail),
            (status(404), 1, Fail),
            (status(412), 1, Fail),
            (status(429), 1, Fail),
            (status(500), 1, Fail),
            (status(503), 2, Fail),
            (
                ClientError::InvalidResponse {
                    method: Method::Post,
                    url: "https://scim.example/Users".into(),
                    detail: "not JSON".into(),
                },
                1,
                Fail,
            ),
            (
                ClientError::InvalidRequest {
                    method: Method::Post,
                    url: "https://scim.example/Users".into(),
                    detail: "bad header".into(),
                },
                1,
                Fail,
            ),
        ];
        for (error, sent, expected) in cases {
            assert_eq!(
                on_create_error(&error, sent),
                expected,
                "{error} (POST {sent})"
            );
        }
    }
}
