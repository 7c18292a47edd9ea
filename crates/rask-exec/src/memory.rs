//! The memory pool: every buffering operator reserves before it grows.
//!
//! One pool per session. A [`Reservation`] is RAII: dropping it returns its bytes. When the pool
//! refuses, an operator spills or fails with `ResourcesExhausted` naming itself, what it needed
//! and the limit.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use rask_common::{Error, Result};

/// A session's memory budget.
#[derive(Debug)]
pub struct MemoryPool {
    limit: usize,
    used: AtomicUsize,
    peak: AtomicUsize,
}

impl MemoryPool {
    /// A pool of `limit` bytes.
    pub fn new(limit: usize) -> Arc<Self> {
        Arc::new(MemoryPool {
            limit,
            used: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
        })
    }

    /// The limit in bytes.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Bytes reserved now.
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    /// The most bytes ever reserved at once.
    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::Relaxed)
    }

    /// A new, empty reservation for `consumer`.
    pub fn reservation(self: &Arc<Self>, consumer: &str) -> Reservation {
        Reservation {
            pool: Arc::clone(self),
            consumer: consumer.to_string(),
            size: 0,
        }
    }

    fn try_grow(&self, bytes: usize) -> bool {
        let mut cur = self.used.load(Ordering::Relaxed);
        loop {
            let next = cur.saturating_add(bytes);
            if next > self.limit {
                return false;
            }
            match self
                .used
                .compare_exchange_weak(cur, next, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => {
                    self.peak.fetch_max(next, Ordering::Relaxed);
                    return true;
                }
                Err(actual) => cur = actual,
            }
        }
    }

    fn shrink(&self, bytes: usize) {
        self.used.fetch_sub(bytes, Ordering::AcqRel);
    }
}

/// Bytes held by one consumer; returned to the pool on drop.
#[derive(Debug)]
pub struct Reservation {
    pool: Arc<MemoryPool>,
    consumer: String,
    size: usize,
}

impl Reservation {
    /// Bytes held.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Grows by `bytes`, or fails with `ResourcesExhausted`.
    pub fn try_grow(&mut self, bytes: usize) -> Result<()> {
        if self.pool.try_grow(bytes) {
            self.size += bytes;
            Ok(())
        } else {
            Err(Error::ResourcesExhausted(format!(
                "{} needed {} more bytes (holding {}), but the memory limit of {} bytes has {} in use. Raise --memory-limit",
                self.consumer,
                bytes,
                self.size,
                self.pool.limit,
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
        self.pool.shrink(b);
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
}
