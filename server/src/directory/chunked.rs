//! A vector stored in fixed-size chunks behind `Arc`, so that cloning it copies one pointer per
//! chunk and changing an element copies only that element's chunk (copy-on-write).
//!
//! The directory index is shared by every request reading it; a listing write makes a new index
//! from the current one. With the services and places in `Chunked` vectors the new index shares
//! every chunk the write did not touch with the old one: a write costs its chunks, not the
//! directory, and the index exists once in memory.

use std::ops::Index;
use std::sync::Arc;

/// Elements per chunk: small enough that copying a chunk is cheap (tens of microseconds), large
/// enough that the chunk pointers are a small fraction of the whole (one per 512 elements).
const CHUNK: usize = 512;

#[derive(Debug)]
pub struct Chunked<T> {
    chunks: Vec<Arc<Vec<T>>>,
    len: usize,
}

impl<T> Default for Chunked<T> {
    fn default() -> Self {
        Self { chunks: Vec::new(), len: 0 }
    }
}

impl<T> Clone for Chunked<T> {
    /// Shares every chunk: a pointer copy per chunk.
    fn clone(&self) -> Self {
        Self { chunks: self.chunks.clone(), len: self.len }
    }
}

impl<T: Clone> Chunked<T> {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn get(&self, index: usize) -> Option<&T> {
        self.chunks.get(index / CHUNK).and_then(|chunk| chunk.get(index % CHUNK))
    }

    /// The element to change; its chunk is copied first if another index shares it.
    pub fn get_mut(&mut self, index: usize) -> Option<&mut T> {
        self.chunks.get_mut(index / CHUNK).and_then(|chunk| Arc::make_mut(chunk).get_mut(index % CHUNK))
    }

    /// Appends at the end (copying the last chunk if it is shared and not full).
    pub fn push(&mut self, value: T) {
        match self.chunks.last_mut() {
            Some(last) if last.len() < CHUNK => Arc::make_mut(last).push(value),
            _ => {
                let mut chunk = Vec::with_capacity(CHUNK);
                chunk.push(value);
                self.chunks.push(Arc::new(chunk));
            }
        }
        self.len += 1;
    }

    pub fn iter(&self) -> impl Iterator<Item = &T> + '_ {
        self.into_iter()
    }

    /// Gives back the room the chunk list grew into (chunks themselves are allocated full size).
    pub fn shrink_to_fit(&mut self) {
        self.chunks.shrink_to_fit();
        if let Some(last) = self.chunks.last_mut() {
            Arc::make_mut(last).shrink_to_fit();
        }
    }
}

impl<T> Index<usize> for Chunked<T> {
    type Output = T;

    fn index(&self, index: usize) -> &T {
        &self.chunks[index / CHUNK][index % CHUNK]
    }
}

/// The elements of a [`Chunked`] in order.
pub type ChunkedIter<'a, T> = std::iter::FlatMap<
    std::slice::Iter<'a, Arc<Vec<T>>>,
    std::slice::Iter<'a, T>,
    fn(&'a Arc<Vec<T>>) -> std::slice::Iter<'a, T>,
>;

impl<'a, T> IntoIterator for &'a Chunked<T> {
    type Item = &'a T;
    type IntoIter = ChunkedIter<'a, T>;

    fn into_iter(self) -> Self::IntoIter {
        fn elements<T>(chunk: &Arc<Vec<T>>) -> std::slice::Iter<'_, T> {
            chunk.iter()
        }
        self.chunks.iter().flat_map(elements as fn(&'a Arc<Vec<T>>) -> std::slice::Iter<'a, T>)
    }
}

impl<T: Clone> FromIterator<T> for Chunked<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        let mut out = Self::default();
        for value in iter {
            out.push(value);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_copies_only_its_chunk_and_leaves_the_clone_as_it_was() {
        let original: Chunked<usize> = (0..CHUNK * 3 + 5).collect();
        let mut changed = original.clone();
        *changed.get_mut(CHUNK + 7).expect("in range") = usize::MAX;
        changed.push(1000);
        assert_eq!(original[CHUNK + 7], CHUNK + 7);
        assert_eq!(changed[CHUNK + 7], usize::MAX);
        assert_eq!((original.len(), changed.len()), (CHUNK * 3 + 5, CHUNK * 3 + 6));
        assert_eq!(changed[CHUNK * 3 + 5], 1000);
        // Untouched chunks are the same allocation; the changed ones are copies.
        assert!(Arc::ptr_eq(&original.chunks[0], &changed.chunks[0]));
        assert!(Arc::ptr_eq(&original.chunks[2], &changed.chunks[2]));
        assert!(!Arc::ptr_eq(&original.chunks[1], &changed.chunks[1]));
        assert!(!Arc::ptr_eq(&original.chunks[3], &changed.chunks[3]));
        assert_eq!(changed.iter().filter(|v| **v == usize::MAX).count(), 1);
        assert_eq!(original.iter().filter(|v| **v == usize::MAX).count(), 0);
        assert_eq!(original.get(CHUNK * 3 + 5), None);
    }
}
