//! Which data-pool row an iteration gets (`per_vu`, `round_robin`, `random`, `unique`).
//!
//! Counters are per run: a new run starts every pool from its first row again.

use crate::plan::data::{Pick, Pool};
use minijinja::Value;
use rand::Rng;
use rand::rngs::SmallRng;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

pub struct Picker {
    pools: Arc<[Pool]>,
    cursors: Vec<AtomicU64>,
}

/// A `unique` pool ran out of rows (with `on_exhausted: stop`): the run should end.
#[derive(Debug)]
pub struct Exhausted(pub String);

impl Picker {
    pub fn new(pools: Arc<[Pool]>) -> Self {
        let cursors = pools.iter().map(|_| AtomicU64::new(0)).collect();
        Picker { pools, cursors }
    }

    pub fn is_empty(&self) -> bool {
        self.pools.is_empty()
    }

    /// `data` for one iteration of VU `vu`: one row per pool.
    pub fn select(&self, vu: u32, rng: &mut SmallRng) -> Result<Value, Exhausted> {
        let mut out = BTreeMap::new();
        for (pool, cursor) in self.pools.iter().zip(&self.cursors) {
            let n = pool.rows.len() as u64;
            if n == 0 {
                continue;
            }
            let i = match pool.pick {
                Pick::PerVu => vu as u64 % n,
                Pick::Random => rng.random_range(0..n),
                Pick::RoundRobin => cursor.fetch_add(1, Ordering::Relaxed) % n,
                Pick::Unique { wrap } => {
                    let i = cursor.fetch_add(1, Ordering::Relaxed);
                    if i >= n && !wrap {
                        return Err(Exhausted(pool.name.clone()));
                    }
                    i % n
                }
            };
            out.insert(pool.name.clone(), pool.rows[i as usize].clone());
        }
        Ok(Value::from(out))
    }
}
