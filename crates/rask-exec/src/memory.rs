//! The memory pool: every buffering operator reserves before it grows.
//!
//! One pool per session. A [`Reservation`] is RAII: dropping it returns its bytes. When the pool
//! refuses, an operator spills or fails with `ResourcesExhausted` naming itself, what it needed
//! and the limit.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use rask_common::{Error, Result};

/// Spillable consumers together leave this fraction (1/N) of what unspillable ones do not
/// hold free for them.
const UNSPILLABLE_HEADROOM: usize = 8;

/// Bytes a batch's rows take: for slices of bigger arrays, only the slice's share (what
/// keeping the rows costs once the rest is released), not the whole buffers.
pub fn batch_memory(batch: &arrow::array::RecordBatch) -> usize {
    batch
        .columns()
        .iter()
        .map(|c| array_memory(c.as_ref()))
        .sum()
}

/// Bytes an array's rows take (see [`batch_memory`]).
pub fn array_memory(a: &dyn arrow::array::Array) -> usize {
    a.to_data()
        .get_slice_memory_size()
        .unwrap_or_else(|_| a.get_array_memory_size())
}

/// A session's memory budget, seen from one operator of a query (its scope) or from the
/// session (scope 0). Scoped views share the budget; each scope's bytes are also counted on
/// their own, so that EXPLAIN ANALYZE shows every operator's peak.
#[derive(Debug)]
pub struct MemoryPool {
    state: Arc<PoolState>,
    scope: usize,
}

#[derive(Debug)]
struct PoolState {
    limit: usize,
    used: AtomicUsize,
    peak: AtomicUsize,
    /// Bytes held by spillable reservations, and how many of them exist.
    spillable_used: AtomicUsize,
    spillable_count: AtomicUsize,
    /// Per scope (operator): bytes held now and at most.
    scopes: std::sync::Mutex<std::collections::HashMap<usize, (usize, usize)>>,
}

impl MemoryPool {
    /// A pool of `limit` bytes.
    pub fn new(limit: usize) -> Arc<Self> {
        Arc::new(MemoryPool {
            state: Arc::new(PoolState {
                limit,
                used: AtomicUsize::new(0),
                peak: AtomicUsize::new(0),
                spillable_used: AtomicUsize::new(0),
                spillable_count: AtomicUsize::new(0),
                scopes: std::sync::Mutex::new(std::collections::HashMap::new()),
            }),
            scope: 0,
        })
    }

    /// The same budget, with the bytes of reservations made through it also counted for
    /// `scope` (an operator's key; 0 counts for none).
    pub fn scoped(&self, scope: usize) -> Arc<Self> {
        Arc::new(MemoryPool {
            state: Arc::clone(&self.state),
            scope,
        })
    }

    /// The limit in bytes.
    pub fn limit(&self) -> usize {
        self.state.limit
    }

    /// Bytes reserved now.
    pub fn used(&self) -> usize {
        self.state.used.load(Ordering::Relaxed)
    }

    /// The most bytes reserved at once since the pool was made or [`MemoryPool::reset_peak`].
    pub fn peak(&self) -> usize {
        self.state.peak.load(Ordering::Relaxed)
    }

    /// Starts measuring the peak afresh (at the start of a query).
    pub fn reset_peak(&self) {
        self.state.peak.store(self.used(), Ordering::Relaxed);
        if let Ok(mut c) = self.state.scopes.lock() {
            c.retain(|_, (cur, _)| *cur > 0);
            for (cur, peak) in c.values_mut() {
                *peak = *cur;
            }
        }
    }

    /// The most bytes reservations of `scope` held at once since the last
    /// [`MemoryPool::reset_peak`].
    pub fn scope_peak(&self, scope: usize) -> usize {
        self.state
            .scopes
            .lock()
            .ok()
            .and_then(|c| c.get(&scope).map(|(_, p)| *p))
            .unwrap_or(0)
    }

    fn account(&self, grow: usize, shrink: usize) {
        if self.scope == 0 {
            return;
        }
        if let Ok(mut c) = self.state.scopes.lock() {
            let e = c.entry(self.scope).or_insert((0, 0));
            e.0 = (e.0 + grow).saturating_sub(shrink);
            e.1 = e.1.max(e.0);
        }
    }

    /// A new, empty reservation for `consumer`.
    pub fn reservation(self: &Arc<Self>, consumer: &str) -> Reservation {
        Reservation {
            pool: Arc::clone(self),
            consumer: consumer.to_string(),
            size: 0,
            spillable: false,
            peers: 1,
        }
    }

    /// A reservation for a consumer that can spill when refused. Spillable consumers share
    /// what unspillable ones leave fairly: each may hold at most that much divided by their
    /// number (at least `peers`: the workers about to make theirs), so that one worker's
    /// buffer cannot starve another that has nothing to spill.
    pub fn spillable_reservation(self: &Arc<Self>, consumer: &str, peers: usize) -> Reservation {
        self.state.spillable_count.fetch_add(1, Ordering::AcqRel);
        Reservation {
            pool: Arc::clone(self),
            consumer: consumer.to_string(),
            size: 0,
            spillable: true,
            peers: peers.max(1),
        }
    }

    /// The most one spillable reservation may hold now: an equal part of what unspillable
    /// consumers leave, less an eighth of it kept free for them. A spillable consumer can
    /// make room for itself by spilling; an unspillable one that arrives when spillable
    /// ones hold everything cannot, and would fail.
    fn fair_share(&self, peers: usize) -> usize {
        let n = self
            .state
            .spillable_count
            .load(Ordering::Acquire)
            .max(peers);
        let unspillable = self
            .used()
            .saturating_sub(self.state.spillable_used.load(Ordering::Acquire));
        let left = self.state.limit.saturating_sub(unspillable);
        (left - left / UNSPILLABLE_HEADROOM) / n
    }

    fn try_grow(&self, bytes: usize) -> bool {
        let mut cur = self.state.used.load(Ordering::Relaxed);
        loop {
            let next = cur.saturating_add(bytes);
            if next > self.state.limit {
                return false;
            }
            match self.state.used.compare_exchange_weak(
                cur,
                next,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => {
                    self.state.peak.fetch_max(next, Ordering::Relaxed);
                    return true;
                }
                Err(actual) => cur = actual,
            }
        }
    }

    fn shrink(&self, bytes: usize) {
        self.state.used.fetch_sub(bytes, Ordering::AcqRel);
    }
}

/// Bytes held by one consumer; returned to the pool on drop.
#[derive(Debug)]
pub struct Reservation {
    pool: Arc<MemoryPool>,
    consumer: String,
    size: usize,
    spillable: bool,
    peers: usize,
}

impl Reservation {
    /// Bytes held.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Grows by `bytes`, or fails with `ResourcesExhausted`. A spillable reservation is held
    /// to its fair share, except while it holds nothing: then it has nothing to spill to
    /// make room, and may take what the pool has free (a batch bigger than its share must
    /// still get through).
    pub fn try_grow(&mut self, bytes: usize) -> Result<()> {
        let fair = !self.spillable
            || self.size == 0
            || self.size.saturating_add(bytes) <= self.pool.fair_share(self.peers);
        if fair && self.pool.try_grow(bytes) {
            self.size += bytes;
            self.pool.account(bytes, 0);
            if self.spillable {
                self.pool
                    .state
                    .spillable_used
                    .fetch_add(bytes, Ordering::AcqRel);
            }
            Ok(())
        } else {
            // A spillable consumer refused its fair share, not the whole limit: say so, or
            // "0 in use" would not explain the refusal.
            let share = if fair {
                String::new()
            } else {
                format!(
                    " (its share: {} bytes, the limit less what cannot spill, split among the \
                     operators and workers that can)",
                    self.pool.fair_share(self.peers)
                )
            };
            Err(Error::ResourcesExhausted(format!(
                "{} needed {} more bytes (holding {}){share}, but the memory limit of {} bytes \
                 has {} in use. Raise --memory-limit",
                self.consumer,
                bytes,
                self.size,
                self.pool.state.limit,
                self.pool.used()
            )))
        }
    }

    /// Sets the reservation to exactly `bytes`, growing or shrinking.
    pub fn try_resize(&mut self, bytes: usize) -> Result<()> {
        if bytes > self.size {
            self.try_grow(bytes - self.size)
        } else {
            self.shrink(self.size - bytes);
            Ok(())
        }
    }

    /// Returns `bytes` to the pool.
    pub fn shrink(&mut self, bytes: usize) {
        let b = bytes.min(self.size);
        if b == 0 {
            return;
        }
        self.pool.shrink(b);
        self.pool.account(0, b);
        if self.spillable {
            self.pool
                .state
                .spillable_used
                .fetch_sub(b, Ordering::AcqRel);
        }
        self.size -= b;
    }

    /// Returns everything.
    pub fn free(&mut self) {
        self.shrink(self.size);
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.free();
        if self.spillable {
            self.pool
                .state
                .spillable_count
                .fetch_sub(1, Ordering::AcqRel);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_are_raii() {
        let pool = MemoryPool::new(100);
        {
            let mut r = pool.reservation("test");
            r.try_grow(60).unwrap();
            let mut r2 = pool.reservation("other");
            let err = r2.try_grow(50).unwrap_err();
            assert!(err.to_string().contains("other needed 50"), "{err}");
            assert_eq!(pool.used(), 60);
        }
        assert_eq!(pool.used(), 0);
        assert_eq!(pool.peak(), 60);
    }

    #[test]
    fn spillable_reservations_share_fairly() {
        let pool = MemoryPool::new(1000);
        let mut fixed = pool.reservation("fixed");
        fixed.try_grow(200).unwrap();
        let mut a = pool.spillable_reservation("a", 1);
        let mut b = pool.spillable_reservation("b", 1);
        a.try_grow(350).unwrap();
        let err = a.try_grow(1).unwrap_err().to_string();
        assert!(
            err.contains("its share: 350 bytes"),
            "a holds its share of (800 - 800 / 8) / 2: {err}"
        );
        b.try_grow(350).unwrap();
        // An eighth of what is left is kept for unspillable consumers.
        fixed.try_grow(100).unwrap();
        fixed.shrink(100);
        drop(b);
        a.try_grow(350).unwrap();
        assert!(a.try_grow(1).is_err(), "700 of 800, less an eighth");
        fixed.try_grow(100).unwrap();
        assert_eq!(pool.used(), 1000);
        // Holding nothing, a spillable reservation may take more than its share of what is
        // free: it has nothing to spill first.
        a.shrink(500);
        let mut c = pool.spillable_reservation("c", 1);
        c.try_grow(450).unwrap();
        let err = c.try_grow(10).unwrap_err().to_string();
        assert!(err.contains("its share"), "{err}");
        let mut d = pool.spillable_reservation("d", 1);
        assert!(d.try_grow(60).is_err(), "more than the pool has free");
    }
}
