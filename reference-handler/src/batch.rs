//! PHP's `WriteRequestBatch`, reduced to what garbage collection uses: queued DeleteRequests sent as
//! BatchWriteItem commands of `batch_size`, `pool_size` at a time (spec §1.8).

use std::time::Instant;

use aws_sdk_dynamodb::types::{DeleteRequest, WriteRequest};
use futures::StreamExt;

use crate::client::SessionClient;
use crate::config::BatchConfig;
use crate::error::{Operation, SessionError};
use crate::gc::{BatchFailure, GcReport, ItemKey};

pub(crate) struct WriteBatch<'a> {
    client: &'a SessionClient,
    table: &'a str,
    config: &'a BatchConfig,
    queue: Vec<WriteRequest>,
    pub(crate) report: GcReport,
}

enum Outcome {
    Sent {
        requests: usize,
        unprocessed: Vec<WriteRequest>,
    },
    Failed {
        requests: Vec<WriteRequest>,
        error: SessionError,
    },
}

impl<'a> WriteBatch<'a> {
    pub(crate) fn new(client: &'a SessionClient, table: &'a str, config: &'a BatchConfig) -> Self {
        Self {
            client,
            table,
            config,
            queue: Vec::new(),
            report: GcReport::default(),
        }
    }

    /// Queues a DeleteRequest; autoflushes one round at `batch_size × pool_size`.
    pub(crate) async fn delete(&mut self, key: ItemKey) {
        let request = WriteRequest::builder()
            .delete_request(
                DeleteRequest::builder()
                    .set_key(Some(key))
                    .build()
                    .expect("key is set"),
            )
            .build();
        self.queue.push(request);
        if self
            .config
            .autoflush_threshold()
            .is_some_and(|t| self.queue.len() >= t)
        {
            // PHP: an autoflush flushes once; unprocessed items wait for a later flush.
            self.flush_round().await;
        }
    }

    /// The final flush: rounds until the queue is empty, bounded by the configured [`crate::FlushLimit`].
    pub(crate) async fn flush_until_empty(&mut self) {
        let limit = self.config.final_flush_limit;
        let started = Instant::now();
        while !self.queue.is_empty() {
            let rounds_done = limit
                .max_rounds
                .is_some_and(|m| self.report.final_flush_rounds >= m);
            let time_up = limit.deadline.is_some_and(|d| started.elapsed() >= d);
            if rounds_done || time_up {
                tracing::warn!(
                    left = self.queue.len(),
                    rounds = self.report.final_flush_rounds,
                    "final flush limit reached"
                );
                self.report.abandoned = self
                    .queue
                    .drain(..)
                    .filter_map(|r| r.delete_request.map(|d| d.key))
                    .collect();
                return;
            }
            self.report.final_flush_rounds += 1;
            self.flush_round().await;
        }
    }

    /// One flush round: the whole queue in chunks of `batch_size`, `pool_size` commands in flight.
    async fn flush_round(&mut self) {
        let chunks: Vec<Vec<WriteRequest>> = self
            .queue
            .drain(..)
            .collect::<Vec<_>>()
            .chunks(self.config.batch_size)
            .map(<[WriteRequest]>::to_vec)
            .collect();
        self.report.batches_sent += u32::try_from(chunks.len()).unwrap_or(u32::MAX);
        let client = self.client;
        let table = self.table;
        let outcomes: Vec<Outcome> = futures::stream::iter(chunks)
            .map(|chunk| async move {
                let request = client
                    .inner()
                    .batch_write_item()
                    .request_items(table, chunk.clone());
                match client
                    .send(Operation::BatchWriteItem, None, || request.clone().send())
                    .await
                {
                    Ok(out) => Outcome::Sent {
                        requests: chunk.len(),
                        unprocessed: out
                            .unprocessed_items
                            .unwrap_or_default()
                            .into_values()
                            .flatten()
                            .collect(),
                    },
                    Err(error) => Outcome::Failed {
                        requests: chunk,
                        error,
                    },
                }
            })
            .buffer_unordered(self.config.pool_size)
            .collect()
            .await;
        for outcome in outcomes {
            match outcome {
                Outcome::Sent {
                    requests,
                    unprocessed,
                } => {
                    self.report.deleted += requests - unprocessed.len().min(requests);
                    self.report.unprocessed_requeued += unprocessed.len();
                    self.queue.extend(unprocessed);
                }
                Outcome::Failed { requests, error }
                    if error.code() == Some("ProvisionedThroughputExceededException") =>
                {
                    self.report.throttled_requeued += requests.len();
                    self.queue.extend(requests);
                }
                Outcome::Failed { requests, error } => {
                    let failure = BatchFailure {
                        error,
                        keys: requests
                            .into_iter()
                            .filter_map(|r| r.delete_request.map(|d| d.key))
                            .collect(),
                    };
                    if let Some(cb) = &self.config.on_error {
                        cb(&failure);
                    }
                    self.report.failures.push(failure);
                }
            }
        }
    }
}
