//! Work split across the machine's cores, results in the input's order.
//!
//! The compiler is pure and its phases split into independent pieces (environments,
//! output files, backends); [`map`] runs such pieces on scoped threads so the output
//! never depends on scheduling. A panic in a piece is resumed in the caller, where
//! `govc` turns it into E901 like any other.

use std::sync::Mutex;
use std::thread;

/// `items.iter().map(f).collect()`, computed by up to as many threads as there are
/// cores, in the items' order.
pub fn map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let (workers, size) = split(items.len());
    if workers <= 1 {
        return items.iter().map(f).collect();
    }
    spread(workers, items.chunks(size), |chunk: &[T]| chunk.iter().map(&f).collect())
}

/// [`map`] for a few coarse items of uneven cost: each thread takes the next item when
/// free, one at a time, in the items' order (the costly ones are best put first).
pub fn map_each<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let workers = thread::available_parallelism().map_or(1, |n| n.get()).min(items.len());
    if workers <= 1 {
        return items.iter().map(f).collect();
    }
    spread(workers, items.chunks(1), |item: &[T]| item.iter().map(&f).collect())
}

/// `items.iter_mut().map(f).collect()`, computed like [`map`].
pub fn map_mut<T: Send, R: Send>(items: &mut [T], f: impl Fn(&mut T) -> R + Sync) -> Vec<R> {
    let (workers, size) = split(items.len());
    if workers <= 1 {
        return items.iter_mut().map(f).collect();
    }
    spread(workers, items.chunks_mut(size), |chunk: &mut [T]| chunk.iter_mut().map(&f).collect())
}

/// How many threads share `len` items, and how many items a thread takes at a time:
/// about eight chunks per thread, so that uneven items even out without a lock per item.
fn split(len: usize) -> (usize, usize) {
    let workers = thread::available_parallelism().map_or(1, |n| n.get()).min(len);
    (workers, len.div_ceil(workers.max(1) * 8).max(1))
}

/// Hands the chunks to `workers` threads, each taking the next one when free; the
/// results in the chunks' order.
fn spread<C: Send, R: Send>(
    workers: usize,
    chunks: impl Iterator<Item = C> + Send,
    f: impl Fn(C) -> Vec<R> + Sync,
) -> Vec<R> {
    let queue = Mutex::new(chunks.enumerate());
    let work = || {
        let mut done = Vec::new();
        loop {
            let next = queue.lock().unwrap_or_else(|e| e.into_inner()).next();
            let Some((i, chunk)) = next else { break done };
            done.push((i, f(chunk)));
        }
    };
    let mut done = thread::scope(|s| {
        let helpers: Vec<_> = (1..workers).map(|_| s.spawn(work)).collect();
        let mut done = work();
        for helper in helpers {
            match helper.join() {
                Ok(theirs) => done.extend(theirs),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        done
    });
    done.sort_unstable_by_key(|(i, _)| *i);
    done.into_iter().flat_map(|(_, results)| results).collect()
}

/// Runs `a` and `b` at the same time; both results.
pub fn join<A: Send, B: Send>(a: impl FnOnce() -> A + Send, b: impl FnOnce() -> B) -> (A, B) {
    thread::scope(|s| {
        let a = s.spawn(a);
        let b = b();
        match a.join() {
            Ok(a) => (a, b),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_keeps_the_order_of_the_items() {
        let items: Vec<u64> = (0..1000).collect();
        assert_eq!(map(&items, |i| i * i), items.iter().map(|i| i * i).collect::<Vec<_>>());
        assert_eq!(map(&[] as &[u64], |i| *i), Vec::<u64>::new());
    }

    #[test]
    fn map_each_keeps_the_order_of_the_items() {
        let items: Vec<u64> = (0..100).collect();
        assert_eq!(map_each(&items, |i| i * 3), items.iter().map(|i| i * 3).collect::<Vec<_>>());
        assert_eq!(map_each(&[] as &[u64], |i| *i), Vec::<u64>::new());
    }

    #[test]
    fn map_mut_changes_each_item_once_and_keeps_the_order() {
        let mut items: Vec<u64> = (0..1000).collect();
        let before = map_mut(&mut items, |i| {
            let was = *i;
            *i += 1;
            was
        });
        assert_eq!(before, (0..1000).collect::<Vec<_>>());
        assert_eq!(items, (1..1001).collect::<Vec<_>>());
    }

    #[test]
    fn join_returns_both() {
        assert_eq!(join(|| 1 + 1, || "b"), (2, "b"));
    }

    #[test]
    fn a_panic_reaches_the_caller() {
        let items = [1, 2, 3, 4];
        let caught = std::panic::catch_unwind(|| map(&items, |i| if *i == 3 { panic!("boom") } else { *i }));
        assert!(caught.is_err());
    }
}
