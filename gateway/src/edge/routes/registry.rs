//! `/registry/…`: the Ministry data Ponte files with (courts and
//! competence), for every agency.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use http::StatusCode;
use ponte_registry::{ComuneRef, Court, CourtCode};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::edge::{AppState, Problem};
use crate::filing::CourtDirectory;
use crate::store::Store;

pub(super) fn routes<S: Store>() -> Router<AppState<S>> {
    Router::new()
        .route("/registry/courts", get(courts::<S>))
        .route("/registry/courts/{code}", get(court::<S>))
        .route("/registry/competence", get(competence::<S>))
}

fn directory<S>(state: &AppState<S>) -> Option<std::sync::Arc<CourtDirectory>> {
    state.courts.as_ref().map(|c| c.current())
}

fn unavailable() -> Response {
    Problem::unavailable(
        "registry_unavailable",
        "the court registry is not loaded",
        30,
    )
    .into_response()
}

fn court_json(directory: &CourtDirectory, court: &Court, with_pem: bool) -> Value {
    let pem = directory.certificates.get(court.code.as_str());
    let mut value = json!({
        "code": court.code.as_str(),
        "name": court.name,
        "kind": court.kind.label(),
        "pec_deposit": court.pec_deposit,
        "registries": court.registries,
        "has_encryption_certificate": pem.is_some(),
    });
    if with_pem && let (Some(pem), Some(object)) = (pem, value.as_object_mut()) {
        object.insert("encryption_certificate".into(), json!(pem));
    }
    value
}

/// `GET /registry/courts`: every court, and where the registry came from.
async fn courts<S: Store>(State(state): State<AppState<S>>) -> Response {
    let Some(directory) = directory(&state) else {
        return unavailable();
    };
    let courts: Vec<Value> = directory
        .registry
        .courts()
        .map(|c| court_json(&directory, c, false))
        .collect();
    Json(json!({ "origin": directory.origin, "courts": courts })).into_response()
}

/// `GET /registry/courts/{code}`: one court with its encryption
/// certificate (PEM).
async fn court<S: Store>(State(state): State<AppState<S>>, Path(code): Path<String>) -> Response {
    let Some(directory) = directory(&state) else {
        return unavailable();
    };
    let Ok(code) = code.parse::<CourtCode>() else {
        return Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid_court_code",
            "a codice ufficio has ten digits",
        )
        .into_response();
    };
    match directory.registry.court(&code) {
        Some(court) => Json(court_json(&directory, court, true)).into_response(),
        None => {
            Problem::new(StatusCode::NOT_FOUND, "court_unknown", "no such court").into_response()
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CompetenceQuery {
    /// ISTAT code (six digits).
    comune: Option<String>,
    /// Or the comune's name.
    name: Option<String>,
}

/// `GET /registry/competence?comune={istat}` (or `?name=`): the tribunal
/// competent in volontaria giurisdizione, or why the registry cannot say.
async fn competence<S: Store>(
    State(state): State<AppState<S>>,
    Query(q): Query<CompetenceQuery>,
) -> Response {
    let Some(directory) = directory(&state) else {
        return unavailable();
    };
    let comune = match (&q.comune, &q.name) {
        (Some(istat), None) => ComuneRef::istat(istat),
        (None, Some(name)) => ComuneRef::name(name),
        _ => {
            return Problem::new(
                StatusCode::BAD_REQUEST,
                "invalid_query",
                "give exactly one of comune (ISTAT code) or name",
            )
            .into_response();
        }
    };
    match directory.registry.competent_court(comune) {
        Ok(court) => Json(json!({
            "established": true,
            "court": court_json(&directory, court, false),
        }))
        .into_response(),
        Err(e) => {
            let status = match e {
                ponte_registry::CompetenceError::CompetenceUnknown { .. } => StatusCode::OK,
                ponte_registry::CompetenceError::Ambiguous { .. } => StatusCode::CONFLICT,
                _ => StatusCode::NOT_FOUND,
            };
            if status == StatusCode::OK {
                return Json(json!({
                    "established": false,
                    "code": e.code(),
                    "message": e.en(),
                    "message_it": e.it(),
                }))
                .into_response();
            }
            Problem::new(
                status,
                e.code(),
                "the registry cannot name the competent court",
            )
            .detail(e.en())
            .into_response()
        }
    }
}
