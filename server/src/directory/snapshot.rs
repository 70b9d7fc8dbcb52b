//! A saved index build: the records a full build read from the database, written to a local file
//! with the change-feed position they are as of, so that the next start reads one file instead of
//! a million services' rows, then applies the feed from that position like any replica catching
//! up (`super::handle`).
//!
//! Reading the database is most of a build at national scale (docs/BENCHMARKS.md: 33–41 s at a
//! million services against 14–15 s from this file): the file holds the same [`ServiceRecord`]s, and a build from it
//! runs the same code as a build from the database ([`Directory::load_saved`]), so the two give
//! the same index (a test compares them).
//!
//! ## When a saved build is used
//! Only when it is certainly the database's state at its cursor; anything else builds from the
//! database (and saves anew). It must be
//! - written by this very build of the server: which rows a build lists, and what a record
//!   holds, are the code's (the executable's size and modification time, and the version);
//! - of this database: its random name (`database_identity`, made with the database) is the
//!   same, and the feed entry at its cursor is still there, the same in every column (a pruned
//!   one is gone; a restored older copy of the database may not have it yet);
//! - not overtaken by a change of the whole directory (an import, a seed): the feed since the
//!   cursor holds no such entry;
//! - whole: every frame's checksum holds and the count of services matches.
//!
//! A database changed by hand, bypassing the feed, is not seen by a running index either until
//! the periodic rebuild: delete the file (or set `QIAO_INDEX_SNAPSHOT=off`) after such an edit.
//!
//! ## The file
//! `QIAOIDX1`, then the build's fingerprint, the frame and service counts (u64, little-endian;
//! the counts are written last), then the anchor (its length as u32, then postcard), then
//! frames: one per chunk of services read, each its payload's length and CRC-32 (u32) and a
//! postcard `Vec<ServiceRecord>`. It is written beside its final name and renamed once complete
//! and synced, so a reader never sees half a file. It holds public listing data only, like the
//! index (no client, referral or account data).

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use qiao_schema::entity::{database_identity, directory_change};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, EntityTrait};
use serde::{Deserialize, Serialize};
use sha2::Digest;

use super::Directory;
use super::feed;
use super::index::{ChunkSink, LOAD_READERS, LoadedChunk, NoSink};
use super::records::{LOAD_CHUNK, ServiceRecord};

const MAGIC: [u8; 8] = *b"QIAOIDX1";
/// Where the frame count sits (after the magic and the build's fingerprint); the service count
/// follows it.
const COUNTS_AT: u64 = 16;
/// Magic, fingerprint, frames, services.
const FIXED_HEADER: u64 = 32;
/// A frame holds one chunk of a build (`super::records::LOAD_CHUNK` services, a few megabytes); a
/// longer one is damage, and is refused before anything is allocated for it.
const MAX_FRAME_BYTES: u32 = 256 << 20;
const MAX_ANCHOR_BYTES: u32 = 64 << 10;

/// Where a server keeps its saved build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotFile {
    path: PathBuf,
}

/// What ties a saved build to one database at one feed position.
#[derive(Debug, Serialize, Deserialize)]
struct Anchor {
    backend: String,
    /// The database's own name (`database_identity`).
    database: String,
    /// The feed entry at the cursor, every column as read when the build started.
    change: directory_change::Model,
}

/// One chunk of services, encoded for the file.
pub struct Frame(Result<Vec<u8>, String>);

/// Encodes a chunk of records as a frame (length, checksum, payload).
pub fn frame(records: &[ServiceRecord]) -> Frame {
    Frame(postcard::to_stdvec(records).map_err(|e| e.to_string()).and_then(|payload| {
        let length = u32::try_from(payload.len())
            .ok()
            .filter(|length| *length <= MAX_FRAME_BYTES)
            .ok_or("a chunk of services too large for one frame")?;
        let mut bytes = Vec::with_capacity(payload.len() + 8);
        bytes.extend_from_slice(&length.to_le_bytes());
        bytes.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
        bytes.extend_from_slice(&payload);
        Ok(bytes)
    }))
}

impl SnapshotFile {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A writer for a build from the database that starts now, with the feed at `cursor`
    /// ([`feed::head`], taken before the build). `None` (logged) when there is nothing to anchor
    /// it to (an empty feed) or the file cannot be made: the build goes on unsaved.
    pub async fn writer(&self, db: &DatabaseConnection, cursor: i64) -> Option<SnapshotWriter> {
        let Some(build) = this_build() else {
            tracing::info!("the server's executable cannot be identified; the index build is not saved");
            return None;
        };
        let change = match directory_change::Entity::find_by_id(cursor).one(db).await {
            Ok(Some(change)) => change,
            Ok(None) => {
                tracing::info!(cursor, "the change feed has no entry to anchor a saved index build to; not saving");
                return None;
            }
            Err(error) => {
                tracing::warn!(%error, "reading the change feed failed; the index build is not saved");
                return None;
            }
        };
        let database = match database_identity(db).await {
            Ok(database) => database,
            Err(error) => {
                tracing::warn!(%error, "reading the database's identity failed; the index build is not saved");
                return None;
            }
        };
        let anchor = Anchor { backend: backend_name(db).to_owned(), database, change };
        match SnapshotWriter::create(&self.path, build, &anchor) {
            Ok(writer) => Some(writer),
            Err(error) => {
                tracing::warn!(path = %self.path.display(), %error, "cannot write the saved index build; not saving");
                None
            }
        }
    }

    /// The saved build, when this server may start from it on `db` (see the module); `None`
    /// (with the reason logged) otherwise.
    pub async fn usable(&self, db: &DatabaseConnection) -> Option<SavedBuild> {
        match self.check(db).await {
            Ok(saved) => Some(saved),
            Err(reason) => {
                tracing::info!(path = %self.path.display(), %reason, "building the index from the database");
                None
            }
        }
    }

    async fn check(&self, db: &DatabaseConnection) -> Result<SavedBuild, String> {
        let path = self.path.clone();
        let header = tokio::task::spawn_blocking(move || read_header(&path))
            .await
            .map_err(|e| format!("reading the saved build failed: {e}"))??;
        if Some(header.build) != this_build() {
            return Err("the saved build was written by another build of the server".into());
        }
        if header.anchor.backend != backend_name(db) {
            return Err("the saved build is of another kind of database".into());
        }
        if database_identity(db).await? != header.anchor.database {
            return Err("the saved build is of another database".into());
        }
        let cursor = header.anchor.change.id;
        let now = directory_change::Entity::find_by_id(cursor).one(db).await.map_err(|e| e.to_string())?;
        if now.as_ref() != Some(&header.anchor.change) {
            return Err("the saved build is of another database, or its feed entry was pruned".into());
        }
        if feed::whole_directory_changed_since(db, cursor).await.map_err(|e| e.to_string())? {
            return Err("the whole directory changed after the saved build".into());
        }
        Ok(SavedBuild {
            path: self.path.clone(),
            cursor,
            frames: header.frames,
            records: header.records,
            data_start: header.data_start,
        })
    }
}

/// The database's name, given at random when it was created.
async fn database_identity(db: &DatabaseConnection) -> Result<String, String> {
    match database_identity::Entity::find().one(db).await {
        Ok(Some(row)) => Ok(row.id),
        Ok(None) => Err("the database has no identity row".into()),
        Err(error) => Err(error.to_string()),
    }
}

fn backend_name(db: &impl ConnectionTrait) -> &'static str {
    match db.get_database_backend() {
        sea_orm::DbBackend::Postgres => "postgres",
        sea_orm::DbBackend::MySql => "mysql",
        _ => "sqlite",
    }
}

/// This build of the server: its version and its executable's size and modification time. A
/// rebuilt or replaced executable differs (a copy may too, which only costs one build from the
/// database).
fn this_build() -> Option<u64> {
    static BUILD: OnceLock<Option<u64>> = OnceLock::new();
    *BUILD.get_or_init(|| {
        let metadata = std::fs::metadata(std::env::current_exe().ok()?).ok()?;
        let modified = metadata.modified().ok()?.duration_since(std::time::UNIX_EPOCH).ok()?;
        let mut digest = sha2::Sha256::new();
        digest.update(env!("CARGO_PKG_VERSION").as_bytes());
        digest.update(metadata.len().to_le_bytes());
        digest.update(modified.as_nanos().to_le_bytes());
        let digest = digest.finalize();
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        Some(u64::from_le_bytes(first))
    })
}

struct Header {
    build: u64,
    frames: u64,
    records: u64,
    anchor: Anchor,
    /// Where the first frame starts.
    data_start: u64,
}

fn read_header(path: &Path) -> Result<Header, String> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Err("no saved build".into()),
        Err(error) => return Err(format!("cannot open the saved build: {error}")),
    };
    let mut reader = BufReader::new(file);
    let damaged = |e: std::io::Error| format!("the saved build is damaged: {e}");
    let mut magic = [0u8; 8];
    reader.read_exact(&mut magic).map_err(damaged)?;
    if magic != MAGIC {
        return Err("not a saved index build of this format".into());
    }
    let build = read_u64(&mut reader).map_err(damaged)?;
    let frames = read_u64(&mut reader).map_err(damaged)?;
    let records = read_u64(&mut reader).map_err(damaged)?;
    let anchor_length = read_u32(&mut reader).map_err(damaged)?;
    if anchor_length > MAX_ANCHOR_BYTES {
        return Err("the saved build is damaged (its anchor is too long)".into());
    }
    let mut anchor = vec![0u8; anchor_length as usize];
    reader.read_exact(&mut anchor).map_err(damaged)?;
    let anchor: Anchor =
        postcard::from_bytes(&anchor).map_err(|e| format!("the saved build is damaged (its anchor: {e})"))?;
    Ok(Header { build, frames, records, anchor, data_start: FIXED_HEADER + 4 + u64::from(anchor_length) })
}

fn read_u64(reader: &mut impl Read) -> std::io::Result<u64> {
    let mut bytes = [0u8; 8];
    reader.read_exact(&mut bytes)?;
    Ok(u64::from_le_bytes(bytes))
}

fn read_u32(reader: &mut impl Read) -> std::io::Result<u32> {
    let mut bytes = [0u8; 4];
    reader.read_exact(&mut bytes)?;
    Ok(u32::from_le_bytes(bytes))
}

/// A saved build found usable: read it with [`super::Directory::load_saved`], then apply the feed
/// from [`Self::cursor`].
#[derive(Debug)]
pub struct SavedBuild {
    path: PathBuf,
    cursor: i64,
    frames: u64,
    records: u64,
    data_start: u64,
}

impl SavedBuild {
    /// The feed position the saved records are as of.
    pub fn cursor(&self) -> i64 {
        self.cursor
    }

    /// How many services the file holds.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// Decodes the frames on `decoders` threads: frame k comes from the receiver k mod
    /// `decoders`, in order; a receiver ends after its last frame, or after an error.
    pub fn decode(
        self,
        decoders: usize,
        build_end: &crate::memory::BuildEnd,
    ) -> Vec<tokio::sync::mpsc::Receiver<LoadedChunk<()>>> {
        let decoders = decoders.max(1);
        let mut receivers = Vec::with_capacity(decoders);
        for decoder in 0..decoders {
            let (sender, receiver) = tokio::sync::mpsc::channel(2);
            receivers.push(receiver);
            let (path, frames, data_start) = (self.path.clone(), self.frames, self.data_start);
            let build_end = build_end.clone();
            let spawned = std::thread::Builder::new().name("qiao-index-decode".into()).spawn(move || {
                if let Err(error) = decode_frames(&path, data_start, frames, decoder as u64, decoders as u64, &sender) {
                    // Ends this receiver early; the build sees an error, not a shorter index.
                    sender.blocking_send(Err(DbErr::Custom(format!("the saved index build is damaged: {error}")))).ok();
                }
                drop(sender);
                // The records decoded here are freed as they are indexed.
                build_end.give_back();
            });
            if let Err(error) = spawned {
                let (sender, receiver) = tokio::sync::mpsc::channel(1);
                sender.try_send(Err(DbErr::Custom(format!("cannot start decoding the saved build: {error}")))).ok();
                receivers[decoder] = receiver;
            }
        }
        receivers
    }
}

/// Sends frames `first`, `first + step`, … of `frames`, decoded; skips the others.
fn decode_frames(
    path: &Path,
    data_start: u64,
    frames: u64,
    first: u64,
    step: u64,
    sender: &tokio::sync::mpsc::Sender<LoadedChunk<()>>,
) -> Result<(), String> {
    let mut reader = BufReader::with_capacity(1 << 20, File::open(path).map_err(|e| e.to_string())?);
    reader.seek(SeekFrom::Start(data_start)).map_err(|e| e.to_string())?;
    let mut payload = Vec::new();
    for index in 0..frames {
        let length = read_u32(&mut reader).map_err(|e| format!("frame {index}: {e}"))?;
        let checksum = read_u32(&mut reader).map_err(|e| format!("frame {index}: {e}"))?;
        if length > MAX_FRAME_BYTES {
            return Err(format!("frame {index} claims {length} bytes"));
        }
        if index % step != first {
            reader.seek_relative(i64::from(length)).map_err(|e| format!("frame {index}: {e}"))?;
            continue;
        }
        payload.resize(length as usize, 0);
        reader.read_exact(&mut payload).map_err(|e| format!("frame {index}: {e}"))?;
        if crc32fast::hash(&payload) != checksum {
            return Err(format!("frame {index} fails its checksum"));
        }
        let records: Vec<ServiceRecord> = postcard::from_bytes(&payload).map_err(|e| format!("frame {index}: {e}"))?;
        if sender.blocking_send(Ok((records, Some(())))).is_err() {
            return Ok(()); // the build stopped
        }
    }
    Ok(())
}

impl Directory {
    /// [`Directory::load`], also writing what it reads to `saving`: the saved build the next start
    /// reads instead of the database. A failure to write is the writer's to report; the build
    /// goes on.
    pub async fn load_saving(db: &DatabaseConnection, saving: Option<&mut SnapshotWriter>) -> Result<Self, DbErr> {
        Self::load_from_database(db, LOAD_CHUNK, saving).await
    }

    /// A full build from a saved one: the same records a build from the database read when the
    /// feed stood at the saved build's cursor, built by the same code. Apply the feed from that
    /// cursor before serving from it. An unreadable, damaged or short file is an error (the
    /// caller builds from the database instead).
    pub async fn load_saved(db: &DatabaseConnection, saved: SavedBuild) -> Result<Self, DbErr> {
        let memory = crate::memory::build_memory();
        let directory = Self::empty(db).await?;
        let expected = saved.records();
        let receivers = saved.decode(LOAD_READERS, &memory.end());
        let (mut directory, records) = directory.assemble::<NoSink>(receivers, None).await?;
        if records != expected {
            return Err(DbErr::Custom(format!("the saved index build holds {records} services, not {expected}")));
        }
        directory.from_saved_build = true;
        Ok(directory)
    }
}

impl ChunkSink for SnapshotWriter {
    type Encoded = Frame;

    fn encode(records: &[ServiceRecord]) -> Frame {
        frame(records)
    }

    fn write(&mut self, frame: Frame, records: usize) {
        self.append(frame, records);
    }
}

/// Writes a saved build as the build from the database reads it; [`Self::finish`] makes it the
/// saved build. Dropped unfinished, it leaves nothing behind.
pub struct SnapshotWriter {
    final_path: PathBuf,
    partial_path: PathBuf,
    file: Option<BufWriter<File>>,
    frames: u64,
    records: u64,
    /// The first failure; the file is abandoned.
    failed: Option<String>,
}

impl SnapshotWriter {
    fn create(path: &Path, build: u64, anchor: &Anchor) -> Result<Self, String> {
        if let Some(parent) = path.parent().filter(|parent| !parent.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
        }
        // Beside the final name, so the rename stays on one file system; the process id and a
        // count keep two servers configured with the same path, or a build still being synced
        // and the next one, from writing into one file.
        static WRITERS: AtomicU64 = AtomicU64::new(0);
        let mut partial = path.as_os_str().to_owned();
        partial.push(format!(".{}-{}.partial", std::process::id(), WRITERS.fetch_add(1, Ordering::Relaxed)));
        let partial_path = PathBuf::from(partial);
        let anchor = postcard::to_stdvec(anchor).map_err(|e| e.to_string())?;
        let anchor_length = u32::try_from(anchor.len())
            .ok()
            .filter(|length| *length <= MAX_ANCHOR_BYTES)
            .ok_or("the feed entry is too large to anchor a saved build")?;
        let mut file = BufWriter::with_capacity(1 << 20, File::create(&partial_path).map_err(|e| e.to_string())?);
        let header = (|| {
            file.write_all(&MAGIC)?;
            file.write_all(&build.to_le_bytes())?;
            file.write_all(&[0u8; 16])?; // the counts, written by `finish`
            file.write_all(&anchor_length.to_le_bytes())?;
            file.write_all(&anchor)
        })();
        let writer =
            Self { final_path: path.to_owned(), partial_path, file: Some(file), frames: 0, records: 0, failed: None };
        header.map_err(|e| e.to_string())?;
        Ok(writer)
    }

    /// Appends a chunk of `records` services.
    pub fn append(&mut self, frame: Frame, records: usize) {
        if self.failed.is_some() {
            return;
        }
        let written = match (&mut self.file, frame.0) {
            (Some(file), Ok(bytes)) => file.write_all(&bytes).map_err(|e| e.to_string()),
            (None, _) => Err("already finished".into()),
            (_, Err(error)) => Err(error),
        };
        match written {
            Ok(()) => {
                self.frames += 1;
                self.records += records as u64;
            }
            Err(error) => self.failed = Some(error),
        }
    }

    /// Completes the file and puts it in place of the previous saved build (on a blocking
    /// thread: it syncs a file of hundreds of megabytes at national scale). Logs the outcome.
    pub async fn finish(mut self) {
        let path = self.final_path.clone();
        let outcome = tokio::task::spawn_blocking(move || self.complete()).await;
        match outcome {
            Ok(Ok(records)) => tracing::info!(path = %path.display(), records, "saved the index build"),
            Ok(Err(error)) => tracing::warn!(path = %path.display(), %error, "saving the index build failed"),
            Err(error) => tracing::warn!(path = %path.display(), %error, "saving the index build failed"),
        }
    }

    fn complete(&mut self) -> Result<u64, String> {
        if let Some(error) = self.failed.take() {
            return Err(error);
        }
        let mut file = self.file.take().ok_or("already finished")?;
        let done = (|| {
            file.seek(SeekFrom::Start(COUNTS_AT))?;
            file.write_all(&self.frames.to_le_bytes())?;
            file.write_all(&self.records.to_le_bytes())?;
            let file = file.into_inner().map_err(|e| e.into_error())?;
            file.sync_all()?;
            std::fs::rename(&self.partial_path, &self.final_path)
        })();
        done.map_err(|e| e.to_string())?;
        Ok(self.records)
    }
}

impl Drop for SnapshotWriter {
    fn drop(&mut self) {
        // Unfinished or failed: the partial file is no use to anyone (after a rename it is gone).
        std::fs::remove_file(&self.partial_path).ok();
    }
}
