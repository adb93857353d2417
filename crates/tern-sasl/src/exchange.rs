//! One SASL exchange: the mechanism's state, driven by the client's responses.
use crate::gssapi::{GssServer, GssStep};
use crate::plain::{self, utf8};
use crate::scram::ScramServer;
use crate::{Authenticator, Mechanism, SaslError};
use tern_directory::Account;

/// What the protocol does next.
#[derive(Debug)]
pub enum Step {
    /// Send this challenge (the protocol base64-encodes it) and feed the answer back.
    Challenge(Vec<u8>),
    /// The client is authenticated.
    Done(Box<Success>),
}

/// A finished, successful exchange.
#[derive(Debug)]
pub struct Success {
    /// The account the client is now logged in as (enabled, authorization checked).
    pub account: Account,
    /// Final server data for protocols that carry it with their success reply (only with
    /// [`Exchange::final_data_in_success`]; otherwise it was already sent as a challenge).
    pub data: Option<Vec<u8>>,
    /// The login and password the client sent (PLAIN, LOGIN; `None` for SCRAM and GSSAPI),
    /// for a migration relay that logs in to the legacy server as the user. Kept no longer
    /// than the login takes; never logged.
    pub plaintext: Option<PlainCredentials>,
}

/// A login and password as a plaintext mechanism carried them.
#[derive(Clone)]
pub struct PlainCredentials {
    pub login: String,
    pub password: String,
}

impl std::fmt::Debug for PlainCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlainCredentials")
            .field("login", &self.login)
            .finish_non_exhaustive()
    }
}

enum State {
    Plain,
    LoginUser,
    LoginPassword(String),
    Scram(Box<ScramServer>),
    Gssapi(Box<GssServer>),
    /// Final server data went out as a challenge: an empty response completes the login.
    AwaitEmpty(Account),
    Over,
}

/// One exchange, from [`Authenticator::start`].
pub struct Exchange {
    sasl: Authenticator,
    mechanism: Mechanism,
    state: State,
    final_in_success: bool,
}

impl std::fmt::Debug for Exchange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Exchange")
            .field("mechanism", &self.mechanism)
            .finish_non_exhaustive()
    }
}

impl Exchange {
    pub(crate) fn new(sasl: Authenticator, mechanism: Mechanism) -> Result<Exchange, SaslError> {
        let state = match mechanism {
            Mechanism::Plain => State::Plain,
            Mechanism::Login => State::LoginUser,
            Mechanism::ScramSha256 => State::Scram(Box::default()),
            Mechanism::Gssapi => {
                let acceptor = sasl.gssapi().ok_or(SaslError::UnknownMechanism)?;
                State::Gssapi(Box::new(GssServer::new(acceptor.as_ref())?))
            }
        };
        Ok(Exchange {
            sasl,
            mechanism,
            state,
            final_in_success: false,
        })
    }

    /// The mechanism being run.
    pub fn mechanism(&self) -> Mechanism {
        self.mechanism
    }

    /// Return final server data in [`Success::data`] instead of as a last challenge (for
    /// protocols whose success reply carries data: ManageSieve's `OK (SASL ...)`).
    pub fn final_data_in_success(mut self) -> Exchange {
        self.final_in_success = true;
        self
    }

    /// Advances with the client's decoded response; `None` when the client sent no
    /// initial response (only meaningful as the first step). After an error or
    /// [`Step::Done`] the exchange is over.
    pub async fn step(&mut self, response: Option<&[u8]>) -> Result<Step, SaslError> {
        let result = self.advance(response).await;
        if result.is_err() {
            self.state = State::Over;
        }
        let (account, data, plaintext) = match result? {
            Advance::Challenge(c) => return Ok(Step::Challenge(c)),
            Advance::Done(done) => *done,
        };
        match data {
            Some(data) if !self.final_in_success => {
                self.state = State::AwaitEmpty(account);
                Ok(Step::Challenge(data))
            }
            data => {
                self.state = State::Over;
                Ok(Step::Done(Box::new(Success {
                    account,
                    data,
                    plaintext,
                })))
            }
        }
    }

    async fn advance(&mut self, response: Option<&[u8]>) -> Result<Advance, SaslError> {
        match std::mem::replace(&mut self.state, State::Over) {
            // RFC 4616 §2: without an initial response, the server's challenge is empty.
            State::Plain => match response {
                None => {
                    self.state = State::Plain;
                    Ok(Advance::Challenge(Vec::new()))
                }
                Some(r) => {
                    let m = plain::parse(r)?;
                    let account = self
                        .sasl
                        .check_password(&m.authcid, &m.password, m.authzid.as_deref())
                        .await?;
                    let plaintext = PlainCredentials {
                        login: m.authcid.clone(),
                        password: m.password.clone(),
                    };
                    Ok(Advance::Done(Box::new((account, None, Some(plaintext)))))
                }
            },
            State::LoginUser => match response {
                None => {
                    self.state = State::LoginUser;
                    Ok(Advance::Challenge(b"Username:".to_vec()))
                }
                Some(r) => {
                    self.state = State::LoginPassword(utf8(r)?);
                    Ok(Advance::Challenge(b"Password:".to_vec()))
                }
            },
            State::LoginPassword(user) => {
                let password = utf8(response.unwrap_or_default())?;
                let account = self.sasl.check_password(&user, &password, None).await?;
                let plaintext = PlainCredentials {
                    login: user,
                    password,
                };
                Ok(Advance::Done(Box::new((account, None, Some(plaintext)))))
            }
            State::Scram(mut scram) => {
                let out = scram.step(&self.sasl, response).await?;
                Ok(match out {
                    crate::scram::ScramStep::Challenge(c) => {
                        self.state = State::Scram(scram);
                        Advance::Challenge(c)
                    }
                    crate::scram::ScramStep::Done(account, server_final) => {
                        Advance::Done(Box::new((account, Some(server_final), None)))
                    }
                })
            }
            State::Gssapi(mut gss) => {
                let out = gss.step(&self.sasl, response).await?;
                Ok(match out {
                    GssStep::Challenge(c) => {
                        self.state = State::Gssapi(gss);
                        Advance::Challenge(c)
                    }
                    GssStep::Done(account) => Advance::Done(Box::new((account, None, None))),
                })
            }
            State::AwaitEmpty(account) => {
                if response.is_some_and(|r| !r.is_empty()) {
                    return Err(SaslError::Malformed("Expected an empty response"));
                }
                Ok(Advance::Done(Box::new((account, None, None))))
            }
            State::Over => Err(SaslError::Malformed("The exchange is over")),
        }
    }
}

enum Advance {
    Challenge(Vec<u8>),
    Done(Box<(Account, Option<Vec<u8>>, Option<PlainCredentials>)>),
}
