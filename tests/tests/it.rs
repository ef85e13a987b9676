//! Black-box tests of `ponte`: each test starts the real binary on loopback
//! with a fresh store and talks to it over real mutual TLS, with a Rust
//! client and with `curl`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod it {
    pub mod client;
    pub mod harness;

    mod cli;
    mod curl;
    mod deposit;
    mod deposit_crash;
    mod deposit_retry;
    mod edge;
    mod evidence;
    mod fhir;
    mod filing;
    mod flow;
    mod layering;
    mod map;
    mod observability;
    mod pec;
    mod pec_sim;
    mod registry;
    mod retention;
    mod smtp_stall;
}
