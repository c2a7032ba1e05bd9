//! Work split across the machine's cores, results in the input's order.
//!
//! The compiler is pure and its phases split into independent pieces (environments,
//! output files, backends); [`map`] runs such pieces on the threads of one pool, so the
//! output never depends on scheduling. A panic in a piece is resumed in the caller,
//! where `govc` turns it into E901 like any other.
//!
//! The pool is rayon's, made once per process and reused by every phase. A
//! build splits its work a dozen times; a thread spawned for each split often sat a
//! scheduler tick (1 to 4 ms) on the spawning core before it ran, while the other core
//! idled (`bench/README.md`). A pool thread is woken instead, and is often still awake:
//! rayon's idle threads spin briefly before they sleep. A thread waiting for a split
//! may run another piece of work meanwhile, so nothing may split work while it holds a
//! lock that another piece may take.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use rayon::prelude::*;

/// Makes the calling thread one of the pool's threads, beside one more per core, so
/// that it takes its share of each split itself instead of handing the split to the
/// pool and sleeping until it is done (a few percent less CPU and a little less memory at
/// peak, measured on fleet-1000 builds). For a process whose work is all split from this thread, such as a
/// one-shot command's `main`, called before the first split. A process that splits work
/// from other threads too (the language server checks on a thread of its own) must not
/// call it: this thread runs the pool's work only while it splits some itself. Without
/// it, the pool is made at the first split, of threads of its own. `RAYON_NUM_THREADS`
/// sets the number of threads.
pub fn share_this_thread() {
    // An error means a pool exists already: it serves as well.
    let _ = rayon::ThreadPoolBuilder::new().use_current_thread().build_global();
}

/// Runs `f` on the calling thread, one of the pool's, while the pool's other threads
/// stay awake: each polls for work instead of going to sleep when it finds none, so a
/// split of `f`'s is taken up at once rather than once the thread is woken. On a
/// virtual machine a sleeping thread's core is handed back to the host, and waking it
/// takes from a tenth of a millisecond to several (`bench/README.md`), at every split of
/// phases that each last a few. The cost is the other threads' idle time, spent polling
/// until `f` returns (or unwinds): meant for a command's busy tens of milliseconds, not
/// for a long-lived process. From a thread outside the pool, or with one thread, it is
/// just `f()`.
pub fn keep_awake<R>(f: impl FnOnce() -> R) -> R {
    let Some(caller) = rayon::current_thread_index() else { return f() };
    if rayon::current_num_threads() <= 1 {
        return f();
    }
    let done = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&done);
    // One copy per thread. An idle thread takes its copy before any other work, so it
    // polls from the start of `f`; the caller's copy, run whenever the caller next looks
    // for work, returns at once, and so does a copy reaching a thread that already polls
    // (a nested call), which must not wait for an inner `f` beneath an outer one.
    rayon::spawn_broadcast(move |ctx| {
        if ctx.index() == caller || POLLING.with(|p| p.replace(true)) {
            return;
        }
        while !flag.load(Ordering::Acquire) {
            if !matches!(rayon::yield_now(), Some(rayon::Yield::Executed)) {
                for _ in 0..64 {
                    std::hint::spin_loop();
                }
            }
        }
        POLLING.with(|p| p.set(false));
    });
    /// Ends the polling when `f` returns or unwinds.
    struct Done(Arc<AtomicBool>);
    impl Drop for Done {
        fn drop(&mut self) {
            self.0.store(true, Ordering::Release);
        }
    }
    let _done = Done(done);
    f()
}

thread_local! {
    /// This thread is polling for [`keep_awake`].
    static POLLING: Cell<bool> = const { Cell::new(false) };
}

/// `items.iter().map(f).collect()`, computed by the pool's threads, in the items' order.
pub fn map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    items.par_iter().map(&f).collect()
}

/// [`map`] for a few coarse items of uneven cost: each thread takes the next item when
/// free, one at a time, in the items' order (the costly ones are best put first).
pub fn map_each<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let workers = rayon::current_num_threads().min(items.len());
    if workers <= 1 {
        return items.iter().map(f).collect();
    }
    let queue = Mutex::new(items.iter().enumerate());
    let done = Mutex::new(Vec::with_capacity(items.len()));
    let work = || loop {
        let next = queue.lock().unwrap_or_else(|e| e.into_inner()).next();
        let Some((i, item)) = next else { break };
        let result = f(item);
        done.lock().unwrap_or_else(|e| e.into_inner()).push((i, result));
    };
    rayon::scope(|s| {
        for _ in 1..workers {
            s.spawn(|_| work());
        }
        work();
    });
    let mut done = done.into_inner().unwrap_or_else(|e| e.into_inner());
    done.sort_unstable_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, result)| result).collect()
}

/// `items.iter_mut().map(f).collect()`, computed like [`map`].
pub fn map_mut<T: Send, R: Send>(items: &mut [T], f: impl Fn(&mut T) -> R + Sync) -> Vec<R> {
    items.par_iter_mut().map(&f).collect()
}

/// Runs `a` and `b` at the same time; both results.
pub fn join<A: Send, B: Send>(a: impl FnOnce() -> A + Send, b: impl FnOnce() -> B + Send) -> (A, B) {
    rayon::join(a, b)
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

    /// A pool of two threads, the shape of the machines govc is measured on.
    fn pool_of_two() -> rayon::ThreadPool {
        rayon::ThreadPoolBuilder::new().num_threads(2).build().expect("a pool of two threads")
    }

    #[test]
    fn work_split_while_the_pool_is_kept_awake_is_all_done() {
        let pool = pool_of_two();
        let items: Vec<u64> = (0..1000).collect();
        let (sum, squares) = pool.install(|| {
            keep_awake(|| {
                let squares = map(&items, |i| i * i);
                // Nested: the inner call must not wait for the outer one.
                let sum = keep_awake(|| join(|| map_each(&items, |i| i + 1).iter().sum::<u64>(), || 0)).0;
                (sum, squares)
            })
        });
        assert_eq!(sum, (1..1001).sum::<u64>());
        assert_eq!(squares, items.iter().map(|i| i * i).collect::<Vec<_>>());
        // Outside the pool it is the closure, called once.
        assert_eq!(keep_awake(|| 7), 7);
    }

    #[test]
    fn the_pool_stops_polling_when_the_work_is_done_or_unwinds() {
        let pool = pool_of_two();
        let polling = |pool: &rayon::ThreadPool| {
            // Every thread answers a broadcast once it is free, a polling one included
            // (it runs it between polls): whether each was polling when it answered.
            pool.broadcast(|_| POLLING.with(Cell::get))
        };
        pool.install(|| keep_awake(|| map(&[1, 2, 3], |i| i * 2)));
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while polling(&pool).iter().any(|&p| p) {
            assert!(std::time::Instant::now() < deadline, "a thread still polls a minute after the work was done");
            std::thread::yield_now();
        }
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            pool.install(|| keep_awake(|| -> u32 { panic!("boom") }))
        }));
        assert!(caught.is_err());
        while polling(&pool).iter().any(|&p| p) {
            assert!(std::time::Instant::now() < deadline, "a thread still polls a minute after the work unwound");
            std::thread::yield_now();
        }
    }

    #[test]
    fn a_panic_reaches_the_caller() {
        let items = [1, 2, 3, 4];
        let caught = std::panic::catch_unwind(|| map(&items, |i| if *i == 3 { panic!("boom") } else { *i }));
        assert!(caught.is_err());
        let caught = std::panic::catch_unwind(|| map_each(&items, |i| if *i == 3 { panic!("boom") } else { *i }));
        assert!(caught.is_err());
        let caught = std::panic::catch_unwind(|| join(|| 1, || panic!("boom")));
        assert!(caught.is_err());
    }
}
