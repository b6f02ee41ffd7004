//! The memory budget: Argon2's working memory, allocated once per permit and reused, so the
//! hasher holds at most `permits × memory_kib`.

use std::sync::{Mutex, PoisonError};

use argon2::Block;

/// Argon2's working memory (`memory_kib` KiB per hash), allocated once per permit and reused.
///
/// Allocating and freeing ~19 MiB per hash looks harmless but is not: glibc serves each
/// thread from its own arena and, after the first free of a block that size, stops returning
/// such blocks to the system, so every thread that ever hashed would keep ~19 MiB (hundreds of
/// MiB after a login burst on a pool of many threads). With this pool the hasher's memory is exactly
/// `permits × memory_kib`, held for the life of the hasher.
pub(crate) struct MemoryPool {
    buffers: Mutex<Vec<Vec<Block>>>,
    /// Buffers larger than this (blocks) are freed after use rather than kept: a stored hash
    /// with a bigger cost than the current parameters does not grow the pool for good.
    keep_blocks: usize,
}

impl MemoryPool {
    pub(crate) fn new(keep_blocks: usize) -> Self {
        Self {
            buffers: Mutex::new(Vec::new()),
            keep_blocks,
        }
    }

    /// Runs `work` with at least `blocks` blocks of memory.
    pub(crate) fn with<T>(&self, blocks: usize, work: impl FnOnce(&mut [Block]) -> T) -> T {
        let taken = self
            .buffers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let mut buffer = taken.unwrap_or_default();
        if buffer.len() < blocks {
            buffer.resize(blocks, Block::default());
        }
        let result = work(buffer.get_mut(..blocks).unwrap_or_default());
        if buffer.len() <= self.keep_blocks {
            self.buffers
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(buffer);
        }
        result
    }
}
