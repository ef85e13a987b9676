//! SMTP outcome classification against a scripted in-process server
//! (implicit TLS, certificate from rcgen): replies a real server seldom
//! gives on demand, and a connection dropped after DATA.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use ponte_pec::{
    ComposedMessage, MessageId, PecAddress, SmtpConfig, SmtpError, SmtpSecurity, SmtpStage,
    SmtpSubmitter, SmtpTimeouts, SubmitOutcome, TrustAnchors,
};
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::TcpListener;

/// What the scripted server does.
#[derive(Clone, Copy)]
enum Script {
    RcptReply(&'static str),
    FinalReply(&'static str),
    DropAfterData,
}

async fn server(script: Script) -> (u16, tempfile::TempDir) {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    params.is_ca = rcgen::IsCa::NoCa;
    let cert = params.self_signed(&key).unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ca.pem"), cert.pem()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            rustls_pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let tls = acceptor.accept(tcp).await.unwrap();
        let (r, mut w) = tokio::io::split(tls);
        let mut r = BufReader::new(r);
        w.write_all(b"220 fake ESMTP\r\n").await.unwrap();
        let mut line = String::new();
        let mut in_data = false;
        loop {
            line.clear();
            if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                return;
            }
            if in_data {
                if line == ".\r\n" {
                    match script {
                        Script::DropAfterData => return,
                        Script::FinalReply(reply) => w.write_all(reply.as_bytes()).await.unwrap(),
                        Script::RcptReply(_) => w.write_all(b"250 ok\r\n").await.unwrap(),
                    }
                    in_data = false;
                }
                continue;
            }
            let cmd = line.to_ascii_uppercase();
            let reply: &str = if cmd.starts_with("EHLO") {
                "250-fake\r\n250 AUTH PLAIN LOGIN\r\n"
            } else if cmd.starts_with("AUTH") {
                "235 ok\r\n"
            } else if cmd.starts_with("RCPT") {
                match script {
                    Script::RcptReply(reply) => reply,
                    _ => "250 ok\r\n",
                }
            } else if cmd.starts_with("DATA") {
                in_data = true;
                "354 go on\r\n"
            } else if cmd.starts_with("QUIT") {
                "221 bye\r\n"
            } else {
                "250 ok\r\n"
            };
            w.write_all(reply.as_bytes()).await.unwrap();
        }
    });
    (port, dir)
}

async fn submit(script: Script) -> SubmitOutcome {
    let (port, dir) = server(script).await;
    let submitter = SmtpSubmitter::new(SmtpConfig {
        host: "127.0.0.1".into(),
        port,
        security: SmtpSecurity::ImplicitTls,
        tls_name: Some("localhost".into()),
        trust: TrustAnchors::CaFile(dir.path().join("ca.pem")),
        credentials: Some(ponte_pec::SmtpCredentials {
            username: "u".into(),
            password: ponte_pec::Secret::new("p"),
        }),
        hello_name: "client.test".into(),
        timeouts: SmtpTimeouts {
            connect: Duration::from_secs(5),
            command: Duration::from_secs(5),
            final_reply: Duration::from_secs(5),
        },
    })
    .unwrap();
    let message = ComposedMessage::from_parts(
        MessageId::parse("<m1@pec.test>").unwrap(),
        PecAddress::parse("a@pec.test").unwrap(),
        vec![PecAddress::parse("b@pec.test").unwrap()],
        b"Message-ID: <m1@pec.test>\r\nSubject: DEPOSITO x\r\n\r\n.leading dot\r\nbody\r\n"
            .to_vec(),
    );
    submitter.submit(&message).await
}

#[tokio::test]
async fn accepted() {
    let outcome = submit(Script::FinalReply("250 2.0.0 queued as X1\r\n")).await;
    match outcome {
        SubmitOutcome::Accepted { reply } => assert_eq!(reply, "250 2.0.0 queued as X1"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn temporary_rcpt_failure_is_transient() {
    let outcome = submit(Script::RcptReply("451 4.3.0 try later\r\n")).await;
    match outcome {
        SubmitOutcome::Transient(SmtpError::Reply {
            stage: SmtpStage::RcptTo,
            code: 451,
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn rejection_after_data_is_permanent() {
    let outcome = submit(Script::FinalReply("554 5.7.1 rejected\r\n")).await;
    match outcome {
        SubmitOutcome::Permanent(
            e @ SmtpError::Reply {
                stage: SmtpStage::Message,
                code: 554,
                ..
            },
        ) => {
            assert_eq!(e.code(), "smtp_reply_permanent");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn connection_lost_after_data_is_unknown() {
    let outcome = submit(Script::DropAfterData).await;
    assert_eq!(outcome.class(), "unknown", "{outcome:?}");
    assert!(matches!(
        outcome,
        SubmitOutcome::Unknown(SmtpError::Connection {
            stage: SmtpStage::Message,
            ..
        })
    ));
}
