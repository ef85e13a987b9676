//! [`SubmissionStore`] on SQLite.

use std::sync::Arc;

use rusqlite::{OptionalExtension, Row, params_from_iter};

use super::writer::WriteOp;
use super::{SqliteStore, classify};
use crate::evidence::LogKey;
use crate::store::{
    Accepted, Error, IdempotentAnswer, NewSubmission, Result, SubmissionStore, TaskFilter,
    TaskRecord,
};

const SELECT_TASK: &str = "SELECT id, submission_id, agency, status, business_status, \
     identifier_system, identifier_value, authored_on, last_modified, outputs FROM task";

impl SubmissionStore for SqliteStore {
    async fn accept_submission(
        &self,
        submission: NewSubmission,
        key: Arc<LogKey>,
        origin: String,
    ) -> Result<Accepted> {
        self.write(|reply| WriteOp::Submission {
            submission: Box::new(submission),
            key,
            origin,
            reply,
        })
        .await
    }

    async fn idempotent_answer(
        &self,
        agency: String,
        key: String,
    ) -> Result<Option<IdempotentAnswer>> {
        self.read(move |conn| {
            // Looked up for every submission that carries a key: kept
            // prepared on each reader connection.
            conn.prepare_cached(
                "SELECT request_sha256, task_id, status, response, receipt FROM idempotency \
                 WHERE agency = ?1 AND key = ?2",
            )
            .map_err(classify)?
            .query_row([agency, key], |row| {
                Ok(IdempotentAnswer {
                    request_sha256: row.get(0)?,
                    task_id: row.get(1)?,
                    status: row.get(2)?,
                    response: row.get(3)?,
                    receipt: row.get(4)?,
                })
            })
            .optional()
            .map_err(classify)
        })
        .await
    }

    async fn task(&self, id: String) -> Result<TaskRecord> {
        self.read(move |conn| {
            conn.query_row(&format!("{SELECT_TASK} WHERE id = ?1"), [id], task_from_row)
                .optional()
                .map_err(classify)?
                .ok_or(Error::NotFound)
        })
        .await
    }

    async fn tasks(&self, filter: TaskFilter) -> Result<Vec<TaskRecord>> {
        self.read(move |conn| {
            let mut sql = format!("{SELECT_TASK} WHERE 1 = 1");
            let mut args: Vec<String> = Vec::new();
            let mut push = |sql: &mut String, clause: &str, value: String| {
                args.push(value);
                sql.push_str(&format!(" AND {clause} = ?{}", args.len()));
            };
            if let Some(agency) = filter.agency {
                push(&mut sql, "agency", agency);
            }
            if let Some((system, value)) = filter.identifier {
                push(&mut sql, "identifier_value", value);
                if let Some(system) = system {
                    push(&mut sql, "identifier_system", system);
                }
            }
            if let Some(status) = filter.status {
                push(&mut sql, "status", status);
            }
            sql.push_str(&format!(
                " ORDER BY authored_on DESC LIMIT {}",
                filter.limit.max(1)
            ));
            let mut stmt = conn.prepare_cached(&sql).map_err(classify)?;
            let rows = stmt
                .query_map(params_from_iter(args.iter()), task_from_row)
                .map_err(classify)?;
            rows.collect::<rusqlite::Result<Vec<_>>>().map_err(classify)
        })
        .await
    }

    async fn ready_work(&self) -> Result<Vec<(i64, String, String)>> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT id, task_id, job FROM work_queue WHERE state = 'ready' ORDER BY id",
                )
                .map_err(classify)?;
            let rows = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .map_err(classify)?;
            rows.collect::<rusqlite::Result<Vec<_>>>().map_err(classify)
        })
        .await
    }
}

fn task_from_row(row: &Row<'_>) -> rusqlite::Result<TaskRecord> {
    let outputs: String = row.get(9)?;
    Ok(TaskRecord {
        id: row.get(0)?,
        submission_id: row.get(1)?,
        agency: row.get(2)?,
        status: row.get(3)?,
        business_status: row.get(4)?,
        identifier_system: row.get(5)?,
        identifier_value: row.get(6)?,
        authored_on: row.get(7)?,
        last_modified: row.get(8)?,
        outputs: serde_json::from_str(&outputs).unwrap_or_default(),
    })
}
