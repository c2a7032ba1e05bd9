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

use std::sync::Mutex;

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
