//! The SquashFS payload: its tree (read once with `backhand`) and random-access reads of file
//! contents block by block, which FUSE needs (the dynamic loader faults pages of a 10 MB library
//! in any order; decompressing each file from its start would make that quadratic). Blocks are
//! read with `pread` from our own file handle, so threads serving FUSE do not share a cursor.
//!
//! See: <https://dr-emann.github.io/squashfs/squashfs.html> (data blocks and fragments)

use std::cell::RefCell;
use std::collections::HashMap;
use std::collections::VecDeque;
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{BufReader, Read};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use backhand::traits::Compressor;
use backhand::{FilesystemReader, InnerNode, NodeHeader, SquashfsFileReader};

use crate::error::{Error, Result};

/// Fragment index of a file whose tail is a whole block of its own.
const NO_FRAGMENT: usize = 0xffff_ffff;
/// Bytes of decompressed blocks kept for reuse (at least [`MIN_CACHED_BLOCKS`] blocks): fragment
/// blocks are shared by many small files, and the loader's page faults read 128 KiB windows
/// centred on the fault, so most FUSE reads straddle two blocks and the next read needs the
/// second one again. 8 MiB holds the working set of the reads in flight during an app's start.
const CACHE_BYTES: usize = 8 << 20;
const MIN_CACHED_BLOCKS: usize = 8;

/// What an entry of the tree is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// A directory; its children are indices into [`Image::entries`].
    Dir(Vec<usize>),
    /// A regular file.
    File(FileData),
    /// A symbolic link and its target.
    Symlink(PathBuf),
    /// Anything else (devices, fifos, sockets): listed, never read.
    Other,
}

/// Where a regular file's bytes are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileData {
    /// Length in bytes.
    pub len: u64,
    blocks_start: u64,
    /// On-disk size of each full block (bit 24 set: stored uncompressed; 0: a hole).
    block_sizes: Vec<u32>,
    /// (fragment index, offset inside the fragment block) of the tail, if it is in a fragment.
    fragment: Option<(usize, u32)>,
}

/// One entry of the tree; the root is entry 0 and its own parent.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Path from the root, starting with `/`.
    pub path: PathBuf,
    /// Index of the directory holding it.
    pub parent: usize,
    /// Mode bits, owner, group, modification time as stored.
    pub header: NodeHeader,
    /// What it is.
    pub kind: Kind,
}

/// Decompressed blocks by archive offset, least recently used first, and the blocks some thread
/// is decompressing right now: a second reader of such a block waits for it instead of
/// decompressing it too (the kernel sends adjacent read-ahead windows to both FUSE threads at
/// once, and both need the block they share).
#[derive(Default)]
struct Cache {
    state: Mutex<CacheState>,
    done: Condvar,
    capacity: usize,
    decompressed: AtomicU64,
}

#[derive(Default)]
struct CacheState {
    ready: VecDeque<(u64, Arc<Vec<u8>>)>,
    loading: Vec<u64>,
}

impl Cache {
    fn with_capacity(capacity: usize) -> Self {
        Cache {
            capacity,
            ..Cache::default()
        }
    }

    fn lock(&self) -> MutexGuard<'_, CacheState> {
        // A panic while holding the lock leaves the state consistent (every change is one call).
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The block at `start`, from the cache or from `load` (run by one thread at a time per
    /// block; a failed load is not remembered, so each waiter then tries and reports its own).
    fn get(&self, start: u64, load: impl FnOnce() -> Result<Vec<u8>>) -> Result<Arc<Vec<u8>>> {
        let mut state = self.lock();
        loop {
            if let Some(at) = state.ready.iter().position(|(k, _)| *k == start) {
                let hit = state.ready.remove(at).expect("position is in range");
                let bytes = hit.1.clone();
                state.ready.push_back(hit);
                return Ok(bytes);
            }
            if !state.loading.contains(&start) {
                break;
            }
            state = self.done.wait(state).unwrap_or_else(|e| e.into_inner());
        }
        state.loading.push(start);
        drop(state);
        // Whatever happens to `load`, the block stops being "loading" and waiters wake up.
        let guard = Loading { cache: self, start };
        let loaded = load().map(Arc::new);
        if let Ok(bytes) = &loaded {
            self.decompressed.fetch_add(1, Ordering::Relaxed);
            let mut state = self.lock();
            if state.ready.len() >= self.capacity {
                state.ready.pop_front();
            }
            state.ready.push_back((start, bytes.clone()));
        }
        drop(guard);
        loaded
    }
}

struct Loading<'a> {
    cache: &'a Cache,
    start: u64,
}

impl Drop for Loading<'_> {
    fn drop(&mut self) {
        let mut state = self.cache.lock();
        state.loading.retain(|&s| s != self.start);
        drop(state);
        self.cache.done.notify_all();
    }
}

thread_local! {
    /// One zstd decompression context per thread, reused for every block instead of one
    /// allocated per block (a small saving: decompressing the 128 KiB block dominates).
    static ZSTD: RefCell<Option<zstd::bulk::Decompressor<'static>>> = const { RefCell::new(None) };
}

/// An opened payload.
pub struct Image {
    file: File,
    offset: u64,
    block_size: u32,
    compressor: Compressor,
    fragments: Vec<(u64, u32)>,
    /// Every entry, the root first (index 0).
    pub entries: Vec<Entry>,
    lookup: HashMap<(usize, OsString), usize>,
    cache: Cache,
}

impl std::fmt::Debug for Image {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Image")
            .field("offset", &self.offset)
            .field("entries", &self.entries.len())
            .finish()
    }
}

impl Image {
    /// Opens the SquashFS that starts at `offset` in `path`.
    pub fn open(path: &Path, offset: u64) -> Result<Self> {
        let file = File::open(path).map_err(Error::io("cannot open", path))?;
        let reader = BufReader::new(file.try_clone().map_err(Error::io("cannot open", path))?);
        let fs = FilesystemReader::from_reader_with_offset(reader, offset)
            .map_err(|e| Error::Payload(format!("no SquashFS at offset {offset} ({e})")))?;
        let compressor = match fs.compressor {
            Some(c @ (Compressor::Gzip | Compressor::Zstd)) => c,
            other => {
                return Err(Error::Payload(format!(
                    "compression {other:?} is not one this runtime reads (gzip, zstd)"
                )));
            }
        };
        let fragments = fs
            .fragments
            .iter()
            .flatten()
            .map(|f| {
                (
                    f.start,
                    f.size.size() | if f.size.uncompressed() { 1 << 24 } else { 0 },
                )
            })
            .collect();
        let (entries, lookup) = index(&fs)?;
        Ok(Image {
            file,
            offset,
            block_size: fs.block_size,
            compressor,
            fragments,
            entries,
            lookup,
            cache: Cache::with_capacity(
                (CACHE_BYTES / fs.block_size.max(1) as usize).max(MIN_CACHED_BLOCKS),
            ),
        })
    }

    /// The same image keeping at most `blocks` decompressed blocks (at least one).
    pub fn with_cache_capacity(mut self, blocks: usize) -> Self {
        self.cache = Cache::with_capacity(blocks.max(1));
        self
    }

    /// The child of directory `dir` called `name`.
    pub fn child(&self, dir: usize, name: &OsStr) -> Option<usize> {
        self.lookup.get(&(dir, name.to_owned())).copied()
    }

    /// The file name of entry `i` (empty for the root).
    pub fn name(&self, i: usize) -> &OsStr {
        self.entries[i].path.file_name().unwrap_or_default()
    }

    /// Up to `size` bytes of file `data` from `at` (fewer at its end).
    pub fn read(&self, data: &FileData, at: u64, size: u32) -> Result<Vec<u8>> {
        let end = data.len.min(at.saturating_add(u64::from(size)));
        let mut out = Vec::with_capacity(end.saturating_sub(at) as usize);
        let bs = u64::from(self.block_size);
        let mut pos = at;
        while pos < end {
            let index = pos / bs;
            let block = self.block(data, index as usize)?;
            let from = (pos - index * bs) as usize;
            let to = ((end - index * bs) as usize).min(block.len());
            if from >= to {
                return Err(Error::Payload(format!(
                    "block {index} is shorter than the file says"
                )));
            }
            out.extend_from_slice(&block[from..to]);
            pos = index * bs + to as u64;
        }
        Ok(out)
    }

    /// Streams the whole file `data` into `sink`, block by block.
    pub fn copy_to(&self, data: &FileData, sink: &mut impl std::io::Write) -> Result<u64> {
        let bs = u64::from(self.block_size);
        let count = data.len.div_ceil(bs);
        for index in 0..count {
            let block = self.block(data, index as usize)?;
            let want = (data.len - index * bs).min(bs) as usize;
            let bytes = block.get(..want).ok_or_else(|| {
                Error::Payload(format!("block {index} is shorter than the file says"))
            })?;
            sink.write_all(bytes)
                .map_err(|e| Error::Payload(format!("write: {e}")))?;
        }
        Ok(data.len)
    }

    /// The decompressed bytes of block `index` of a file (the tail of a fragment file is sliced
    /// out of its fragment block).
    fn block(&self, data: &FileData, index: usize) -> Result<Arc<Vec<u8>>> {
        if let Some(&stored) = data.block_sizes.get(index) {
            let start = data.blocks_start
                + data.block_sizes[..index]
                    .iter()
                    .map(|&s| u64::from(s & !(1 << 24)))
                    .sum::<u64>();
            if stored == 0 {
                // A hole: mksquashfs stores a block of zeros as nothing at all.
                return Ok(Arc::new(vec![0; self.block_size as usize]));
            }
            return self.raw_block(start, stored);
        }
        let (frag, within) = data
            .fragment
            .ok_or_else(|| Error::Payload(format!("block {index} is past the file's blocks")))?;
        let &(start, stored) = self.fragments.get(frag).ok_or_else(|| {
            Error::Payload(format!("fragment {frag} is not in the fragment table"))
        })?;
        let block = self.raw_block(start, stored)?;
        let tail = (data.len % u64::from(self.block_size)) as usize;
        let within = within as usize;
        let bytes = block.get(within..within + tail).ok_or_else(|| {
            Error::Payload(format!("fragment {frag} is shorter than a file in it"))
        })?;
        Ok(Arc::new(bytes.to_vec()))
    }

    /// Reads and decompresses the block stored at `start` (archive-relative) with `stored` size.
    fn raw_block(&self, start: u64, stored: u32) -> Result<Arc<Vec<u8>>> {
        self.cache.get(start, || {
            let uncompressed = stored & (1 << 24) != 0;
            let len = (stored & !(1 << 24)) as usize;
            let mut raw = vec![0; len];
            self.file
                .read_exact_at(&mut raw, self.offset + start)
                .map_err(|e| Error::Payload(format!("read at {}: {e}", self.offset + start)))?;
            if uncompressed {
                Ok(raw)
            } else {
                self.decompress(&raw)
            }
        })
    }

    /// How many blocks were decompressed (or read, if stored uncompressed) since the image was
    /// opened: a block served from the cache does not count.
    pub fn blocks_decompressed(&self) -> u64 {
        self.cache.decompressed.load(Ordering::Relaxed)
    }

    fn decompress(&self, raw: &[u8]) -> Result<Vec<u8>> {
        let max = self.block_size as usize;
        let out = match self.compressor {
            Compressor::Zstd => ZSTD.with(|z| {
                let mut z = z.borrow_mut();
                if z.is_none() {
                    *z = Some(zstd::bulk::Decompressor::new().map_err(|e| e.to_string())?);
                }
                let z = z.as_mut().expect("set above");
                let mut out = Vec::with_capacity(max);
                z.decompress_to_buffer(raw, &mut out)
                    .map(|_| out)
                    .map_err(|e| e.to_string())
            }),
            _ => {
                // SquashFS "gzip" blocks are zlib streams.
                let mut out = Vec::with_capacity(max);
                flate2::read::ZlibDecoder::new(raw)
                    .take(max as u64 + 1)
                    .read_to_end(&mut out)
                    .map(|_| out)
                    .map_err(|e| e.to_string())
            }
        };
        out.map_err(|e| Error::Payload(format!("a block does not decompress: {e}")))
    }
}

/// The tree as entries with parent links and a (parent, name) index.
type Index = (Vec<Entry>, HashMap<(usize, OsString), usize>);

fn index(fs: &FilesystemReader) -> Result<Index> {
    let mut entries: Vec<Entry> = Vec::with_capacity(fs.root.nodes.len());
    let mut by_path: HashMap<PathBuf, usize> = HashMap::new();
    let mut lookup = HashMap::new();
    for node in fs.files() {
        let i = entries.len();
        let parent = match node.fullpath.parent() {
            None => i,
            Some(p) => *by_path.get(p).ok_or_else(|| {
                Error::Payload(format!("{} has no parent", node.fullpath.display()))
            })?,
        };
        let kind = match &node.inner {
            InnerNode::Dir(_) => Kind::Dir(Vec::new()),
            InnerNode::File(f) => Kind::File(file_data(f)),
            InnerNode::Symlink(s) => Kind::Symlink(s.link.clone()),
            _ => Kind::Other,
        };
        if parent != i {
            if let Kind::Dir(children) = &mut entries[parent].kind {
                children.push(i);
            }
            let name = node.fullpath.file_name().unwrap_or_default().to_owned();
            lookup.insert((parent, name), i);
        }
        by_path.insert(node.fullpath.clone(), i);
        entries.push(Entry {
            path: node.fullpath.clone(),
            parent,
            header: node.header,
            kind,
        });
    }
    if entries.is_empty() {
        return Err(Error::Payload("the SquashFS has no root directory".into()));
    }
    Ok((entries, lookup))
}

fn file_data(f: &SquashfsFileReader) -> FileData {
    let fragment = (f.frag_index() != NO_FRAGMENT).then(|| (f.frag_index(), f.block_offset()));
    FileData {
        len: f.file_len() as u64,
        blocks_start: f.blocks_start(),
        block_sizes: f
            .block_sizes()
            .iter()
            .map(|d| d.size() | if d.uncompressed() { 1 << 24 } else { 0 })
            .collect(),
        fragment,
    }
}
