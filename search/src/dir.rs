//! The index directory on disk: checking that an index can be read in full, moving a damaged
//! one aside (keeping a few copies for inspection) and swapping a freshly built one in.
//!
//! The index is derived data: the database is the source of truth, so an index that cannot be
//! read is never repaired in place but set aside and rebuilt.
//!
//! For the same reason a commit of the index does not wait for the disk. Tantivy's own
//! directory syncs every file it writes, the list of files it manages and the directory itself
//! before a commit returns: about twenty `fsync`s for an edit applied to the index, each
//! waiting on the disk. Here the files are written and closed, and reach the disk as the
//! system writes them back; [`sync_all`] makes them durable at once where a
//! whole index is written (a rebuild) and when a process lets its index go. What a crash of
//! the machine (not of the process: the system still holds its writes) can cost is the index's
//! last commits: `meta.json` and `.managed.json` are replaced by renames, so each is whole, the
//! old or the new; the segment files a commit names are checked on opening (every file's
//! checksum, see [`verify`]), and an index whose files did not all reach the disk is set aside
//! and rebuilt, while one whose `meta.json` is older than the database applies the change feed
//! from the sequence number it records.

use std::{
    collections::BTreeSet,
    fs::{File, OpenOptions},
    io::{self, BufWriter, Write},
    ops::Range,
    os::unix::fs::FileExt,
    path::{Path, PathBuf},
    sync::Arc,
    time::{Duration, Instant},
};

use tantivy::{
    HasLen, Index as TantivyIndex, ReloadPolicy,
    columnar::{ColumnType, ColumnarReader, Dictionary},
    directory::{
        AntiCallToken, Directory, DirectoryLock, FileHandle, FileSlice, INDEX_WRITER_LOCK, Lock,
        MmapDirectory, OwnedBytes, TerminatingWrite, WatchCallback, WatchHandle, WritePtr,
        error::{DeleteError, LockError, OpenReadError, OpenWriteError},
        footer::Footer,
    },
    index::{SegmentComponent, SegmentId},
};

use crate::SearchError;

/// How many moved-aside copies of a damaged index are kept beside it; older ones are deleted.
pub const KEEP_DAMAGED: usize = 3;

/// The infix of a moved-aside damaged copy: `index` becomes `index.damaged-<UTC time>`.
pub const DAMAGED_INFIX: &str = ".damaged-";

/// The infix of the directory `signpost reindex` builds in before swapping it in.
const BUILDING_INFIX: &str = ".building";

/// The infix a healthy index is renamed to just before it is deleted by a swap.
const REPLACED_INFIX: &str = ".replaced-";

/// How long a busy writer lock is waited for before the index counts as in use.
///
/// The lock is an advisory lock on an open file, and a child process started by any thread of
/// this process while that file was open shares it until the child runs its program. So a
/// lock just released here can stay busy for a moment: the server opening its writer right
/// after checking the index, or a restart in the same process, would otherwise fail at random
/// while other threads start programs.
const LOCK_PATIENCE: Duration = Duration::from_secs(2);

/// The longest pause between two tries of a busy lock.
const LOCK_RETRY_MAX_PAUSE: Duration = Duration::from_millis(50);

/// Takes `lock` in `directory`; a non-blocking lock that is busy is tried again, with growing
/// pauses, for [`LOCK_PATIENCE`] before [`LockError::LockBusy`] is returned.
fn acquire_patiently(directory: &MmapDirectory, lock: &Lock) -> Result<DirectoryLock, LockError> {
    let deadline = Instant::now() + LOCK_PATIENCE;
    let mut pause = Duration::from_millis(1);
    loop {
        match directory.acquire_lock(lock) {
            Err(LockError::LockBusy) if !lock.is_blocking && Instant::now() < deadline => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(LOCK_RETRY_MAX_PAUSE);
            }
            taken => return taken,
        }
    }
}

/// Takes the index's writer lock (without opening the index), so that nothing is moved or
/// replaced under a process that still uses it. Creates `dir` when missing.
pub(crate) fn lock(dir: &Path) -> Result<DirectoryLock, SearchError> {
    std::fs::create_dir_all(dir)?;
    let directory = MmapDirectory::open(dir)?;
    acquire_patiently(&directory, &INDEX_WRITER_LOCK).map_err(|err| match err {
        LockError::LockBusy => SearchError::InUse(dir.to_path_buf()),
        LockError::IoError(io) => SearchError::Io(std::io::Error::new(
            io.kind(),
            format!("cannot lock the search index in {}: {io}", dir.display()),
        )),
    })
}

/// Whether `dir` holds nothing but tantivy's lock files (a new, never written index).
pub(crate) fn is_blank(dir: &Path) -> Result<bool, SearchError> {
    for entry in std::fs::read_dir(dir)? {
        if !is_lock_file(&entry?.file_name()) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Whether a file name is one of tantivy's lock files.
pub(crate) fn is_lock_file(name: &std::ffi::OsStr) -> bool {
    name.to_str()
        .is_some_and(|name| name.starts_with(".tantivy-") && name.ends_with(".lock"))
}

/// Reads every file of every segment the index's `meta.json` lists (each file's checksum; see
/// [`damaged_files`]), then opens each segment's term dictionaries, postings, fast fields,
/// field norms, deletes and document store as a first search would. Damage is found here, not
/// by a search.
pub(crate) fn verify(index: &TantivyIndex, dir: &Path) -> Result<(), SearchError> {
    let damaged = damaged_files(index, dir)?;
    if !damaged.is_empty() {
        return Err(SearchError::Damaged(format!(
            "checksum mismatch in {}",
            damaged.join(", ")
        )));
    }
    let reader = index
        .reader_builder()
        .reload_policy(ReloadPolicy::Manual)
        .try_into()?;
    let searcher = reader.searcher();
    let schema = index.schema();
    for segment in searcher.segment_readers() {
        for (field, entry) in schema.fields() {
            if entry.is_indexed() {
                segment.inverted_index(field)?;
            }
        }
        let store = segment.get_store_reader(0)?;
        if segment.max_doc() > 0 {
            // The last document proves the store's index and its final block decode.
            let last = segment.max_doc() - 1;
            store.get::<tantivy::TantivyDocument>(last)?;
        }
    }
    Ok(())
}

/// The files of the index's segments in `dir` (as `meta.json` lists them) whose checksum does
/// not match, or whose footer cannot be read, sorted. Each file is read in 1 MiB chunks with
/// plain reads. Tantivy's own check reads through the memory map, which leaves every page of
/// the index resident in the process (236 MB at 100,000 listings) for as long as the files
/// stay mapped (for a server, as long as it runs); plain reads pass through the page cache
/// without staying in the process's memory.
pub(crate) fn damaged_files(index: &TantivyIndex, dir: &Path) -> Result<Vec<String>, SearchError> {
    let mut damaged = BTreeSet::new();
    for meta in index.searchable_segment_metas()? {
        for component in [
            SegmentComponent::Postings,
            SegmentComponent::Positions,
            SegmentComponent::Terms,
            SegmentComponent::FieldNorms,
            SegmentComponent::FastFields,
            SegmentComponent::Store,
            SegmentComponent::Delete,
        ] {
            let path = meta.relative_path(component);
            // As in tantivy's check, a component a segment does not have is not looked for
            // (a segment without deletes has no delete file).
            let file = match File::open(dir.join(&path)) {
                Ok(file) => file,
                Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
                Err(err) => return Err(err.into()),
            };
            let name = path.display().to_string();
            match checksum_matches(file) {
                Ok(true) => {}
                Ok(false) => {
                    damaged.insert(name);
                }
                // An unreadable footer or a failed read is damage too; the log says which.
                Err(err) => {
                    tracing::warn!(file = %name, error = %err, "cannot read a search index file's checksum");
                    damaged.insert(name);
                }
            }
        }
    }
    Ok(damaged.into_iter().collect())
}

/// Whether a file's body matches the checksum in its footer.
fn checksum_matches(file: File) -> io::Result<bool> {
    /// The size of one read.
    const CHUNK: usize = 1 << 20;
    let (footer, body) = Footer::extract_footer(FileSlice::new(Arc::new(ReadFile::new(file)?)))?;
    let mut hasher = crc32fast::Hasher::new();
    let mut start = 0;
    while start < body.len() {
        let end = body.len().min(start + CHUNK);
        hasher.update(body.read_bytes_slice(start..end)?.as_slice());
        start = end;
    }
    Ok(hasher.finalize() == footer.crc)
}

/// The index's directory: tantivy's memory-mapped one, except that a segment's stored
/// documents are read with plain file reads, each into memory freed as soon as the caller
/// drops it.
///
/// Through the map, every page of the stored documents a process ever read stayed in it: a
/// server at 100,000 listings showing pages of results and highlights (which read their hits'
/// stored text) came to hold all 88 MB of the segment's documents besides its own memory, and
/// a merge copying segments' compressed blocks held every merged segment's documents (185 MB)
/// until it ended. Read from the file, a page's hits cost a read of a block or two each (held
/// by the store's own cache of recent blocks), and a merge has one segment's documents in
/// memory at a time.
#[derive(Clone, Debug)]
pub(crate) struct IndexDirectory {
    root: PathBuf,
    mapped: MmapDirectory,
}

impl IndexDirectory {
    /// The directory `dir`, which must exist.
    pub(crate) fn open(dir: &Path) -> Result<Self, SearchError> {
        Ok(Self {
            root: dir.to_path_buf(),
            mapped: MmapDirectory::open(dir)?,
        })
    }
}

/// Syncs every file in `dir` (not in its subdirectories), then `dir` itself: the index there
/// is on disk as it stands once this returns (see the module's documentation).
pub(crate) fn sync_all(dir: &Path) -> io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if !entry.file_type()?.is_file() {
            continue;
        }
        match File::open(entry.path()) {
            Ok(file) => file.sync_data()?,
            // Deleted since it was listed (a merge's inputs, a replaced list of files).
            Err(err) if err.kind() == io::ErrorKind::NotFound => {}
            Err(err) => return Err(err),
        }
    }
    File::open(dir)?.sync_data()
}

/// A file of the index being written: closed at its end without waiting for the disk (see the
/// module's documentation). Tantivy buffers the writes in front of it.
struct WrittenFile(File);

impl Write for WrittenFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl TerminatingWrite for WrittenFile {
    fn terminate_ref(&mut self, _: AntiCallToken) -> io::Result<()> {
        self.0.flush()
    }
}

impl Directory for IndexDirectory {
    fn get_file_handle(&self, path: &Path) -> Result<Arc<dyn FileHandle>, OpenReadError> {
        if path.extension().is_none_or(|ext| ext != "store") {
            return self.mapped.get_file_handle(path);
        }
        let file = File::open(self.root.join(path))
            .and_then(ReadFile::new)
            .map_err(|err| match err.kind() {
                io::ErrorKind::NotFound => OpenReadError::FileDoesNotExist(path.to_path_buf()),
                _ => OpenReadError::wrap_io_error(err, path.to_path_buf()),
            })?;
        Ok(Arc::new(file))
    }

    fn delete(&self, path: &Path) -> Result<(), DeleteError> {
        self.mapped.delete(path)
    }

    fn exists(&self, path: &Path) -> Result<bool, OpenReadError> {
        self.mapped.exists(path)
    }

    fn open_write(&self, path: &Path) -> Result<WritePtr, OpenWriteError> {
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(self.root.join(path))
            .map_err(|err| match err.kind() {
                io::ErrorKind::AlreadyExists => OpenWriteError::FileAlreadyExists(path.to_owned()),
                _ => OpenWriteError::wrap_io_error(err, path.to_path_buf()),
            })?;
        Ok(BufWriter::new(Box::new(WrittenFile(file))))
    }

    fn atomic_read(&self, path: &Path) -> Result<Vec<u8>, OpenReadError> {
        self.mapped.atomic_read(path)
    }

    /// Writes a file beside `path` and renames it over `path`: a reader, or the directory
    /// after a crash, finds the old content or the new, never part of it.
    fn atomic_write(&self, path: &Path, data: &[u8]) -> io::Result<()> {
        let mut file = tempfile::Builder::new().tempfile_in(&self.root)?;
        file.write_all(data)?;
        file.flush()?;
        file.into_temp_path().persist(self.root.join(path))?;
        Ok(())
    }

    fn acquire_lock(&self, lock: &Lock) -> Result<DirectoryLock, LockError> {
        acquire_patiently(&self.mapped, lock)
    }

    /// Nothing: the index's files reach the disk as the system writes them back, or by
    /// [`sync_all`].
    fn sync_directory(&self) -> io::Result<()> {
        Ok(())
    }

    fn watch(&self, watch_callback: WatchCallback) -> tantivy::Result<WatchHandle> {
        self.mapped.watch(watch_callback)
    }
}

/// The dictionary of the bytes column `column` of the segment `segment` of the index in
/// `dir`, read from the segment's file with plain reads, a block at a time, rather than through
/// the index's map of it.
///
/// A column's dictionary read out end to end through the map stays in the process's memory
/// (its pages are the process's as long as the map is): the cards of 100,000 listings, read
/// out once into memory of their own (see `collector::Texts`), were there twice, 50 MB in the
/// map besides the 50 MB read out. Read with plain reads, a page of the file passes through
/// the system's cache only.
pub(crate) fn column_dictionary_apart(
    dir: &Path,
    segment: SegmentId,
    column: &str,
) -> io::Result<Dictionary> {
    let path = dir.join(format!("{}.fast", segment.uuid_string()));
    let file = FileSlice::new(Arc::new(ReadFile::new(File::open(path)?)?));
    let (_, columns) = Footer::extract_footer(file)?;
    let handle = ColumnarReader::open(columns)?
        .read_columns(column)?
        .into_iter()
        .find(|handle| handle.column_type() == ColumnType::Bytes)
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!("no bytes column {column} in the segment"),
            )
        })?;
    // A bytes column is its dictionary, then each document's values' numbers, then the
    // dictionary's length in four bytes, little endian (as tantivy's columnar format opens
    // it: `open_column_bytes`).
    let slice = handle.file_slice();
    let damaged = || io::Error::new(io::ErrorKind::InvalidData, "a bytes column cut short");
    let body_len = slice.len().checked_sub(4).ok_or_else(damaged)?;
    let length = slice.slice(body_len..).read_bytes()?;
    let length = u32::from_le_bytes(length.as_slice().try_into().map_err(|_| damaged())?);
    let length = usize::try_from(length).map_err(|_| damaged())?;
    if length > body_len {
        return Err(damaged());
    }
    Dictionary::open(slice.slice(..length))
}

/// A file read with plain reads (an open file stays readable after it is deleted, as tantivy
/// asks of a file handle).
#[derive(Debug)]
struct ReadFile {
    file: File,
    len: usize,
}

impl ReadFile {
    fn new(file: File) -> io::Result<Self> {
        let len = usize::try_from(file.metadata()?.len())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "a file too large to read"))?;
        Ok(Self { file, len })
    }
}

impl HasLen for ReadFile {
    fn len(&self) -> usize {
        self.len
    }
}

impl FileHandle for ReadFile {
    fn read_bytes(&self, range: Range<usize>) -> io::Result<OwnedBytes> {
        if range.start > range.end || range.end > self.len {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("bytes {range:?} of a file of {} bytes", self.len),
            ));
        }
        let mut bytes = vec![0; range.len()];
        self.file.read_exact_at(&mut bytes, range.start as u64)?;
        Ok(OwnedBytes::new(bytes))
    }
}

/// Moves the damaged index in `dir` aside to `<dir>.damaged-<UTC time>` beside it, then
/// deletes all but the newest [`KEEP_DAMAGED`] such copies. Returns where it went.
pub(crate) fn set_aside(dir: &Path) -> Result<PathBuf, SearchError> {
    let aside = unused_sibling(dir, DAMAGED_INFIX)?;
    std::fs::rename(dir, &aside).map_err(|err| {
        std::io::Error::new(
            err.kind(),
            format!(
                "cannot move the damaged search index {} aside to {}: {err}",
                dir.display(),
                aside.display()
            ),
        )
    })?;
    prune(dir, KEEP_DAMAGED);
    Ok(aside)
}

/// The moved-aside damaged copies of the index in `dir`, oldest first.
pub fn damaged_copies(dir: &Path) -> Result<Vec<PathBuf>, SearchError> {
    siblings(dir, DAMAGED_INFIX)
}

/// Deletes all but the newest `keep` moved-aside copies of `dir`; failures are logged.
fn prune(dir: &Path, keep: usize) {
    let copies = match siblings(dir, DAMAGED_INFIX) {
        Ok(copies) => copies,
        Err(err) => {
            tracing::warn!(error = %err, "cannot list old copies of the search index");
            return;
        }
    };
    let excess = copies.len().saturating_sub(keep);
    for old in copies.into_iter().take(excess) {
        match std::fs::remove_dir_all(&old) {
            Ok(()) => tracing::info!(path = %old.display(), "deleted an old damaged search index"),
            Err(err) => tracing::warn!(
                path = %old.display(),
                error = %err,
                "cannot delete an old damaged search index"
            ),
        }
    }
}

/// Directories beside `dir` named `<dir name><infix>...`, sorted by name (for the timestamped
/// ones, oldest first).
fn siblings(dir: &Path, infix: &str) -> Result<Vec<PathBuf>, SearchError> {
    let (parent, name) = parent_and_name(dir)?;
    let prefix = format!("{name}{infix}");
    let mut found = BTreeSet::new();
    for entry in std::fs::read_dir(parent)? {
        let entry = entry?;
        if entry
            .file_name()
            .to_str()
            .is_some_and(|n| n.starts_with(&prefix))
            && entry.file_type()?.is_dir()
        {
            found.insert(entry.path());
        }
    }
    Ok(found.into_iter().collect())
}

/// A path beside `dir` named `<dir name><infix><UTC time>` that does not exist yet.
fn unused_sibling(dir: &Path, infix: &str) -> Result<PathBuf, SearchError> {
    let (parent, name) = parent_and_name(dir)?;
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ");
    let base = parent.join(format!("{name}{infix}{stamp}"));
    let mut candidate = base.clone();
    let mut n = 1;
    while candidate.exists() {
        candidate = PathBuf::from(format!("{}-{n}", base.display()));
        n += 1;
    }
    Ok(candidate)
}

fn parent_and_name(dir: &Path) -> Result<(&Path, String), SearchError> {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| SearchError::Damaged(format!("{} names no directory", dir.display())))?;
    let parent = match dir.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    Ok((parent, name))
}

/// Fails with [`SearchError::InUse`] while a process holds the index in `dir`.
pub fn ensure_unused(dir: &Path) -> Result<(), SearchError> {
    if dir.exists() {
        drop(lock(dir)?);
    }
    Ok(())
}

/// The directory beside `dir` that a full rebuild writes into before [`swap_in`].
pub fn building_dir(dir: &Path) -> Result<PathBuf, SearchError> {
    let (parent, name) = parent_and_name(dir)?;
    Ok(parent.join(format!("{name}{BUILDING_INFIX}")))
}

/// Puts the index built in `built` in the place of `dir`, whatever state `dir` is in
/// (healthy, damaged, missing). Refuses while a process holds `dir`'s writer lock. A damaged
/// index is moved aside as on start; a readable one is deleted. The built index arrives by one
/// rename, so `dir` never holds a partly written index.
pub fn swap_in(built: &Path, dir: &Path) -> Result<Option<PathBuf>, SearchError> {
    let mut kept = None;
    if dir.exists() {
        // Held until the old index has left `dir`: no server may start on it meanwhile.
        let held = lock(dir)?;
        let readable = if is_blank(dir)? {
            Ok(())
        } else {
            IndexDirectory::open(dir)
                .and_then(|directory| Ok(TantivyIndex::open(directory)?))
                .and_then(|index| verify(&index, dir))
        };
        match readable {
            Ok(()) => {
                let old = unused_sibling(dir, REPLACED_INFIX)?;
                std::fs::rename(dir, &old)?;
                drop(held);
                std::fs::remove_dir_all(&old).map_err(|err| {
                    std::io::Error::new(
                        err.kind(),
                        format!(
                            "cannot delete the old search index {}: {err}",
                            old.display()
                        ),
                    )
                })?;
            }
            Err(err) => {
                let aside = set_aside(dir)?;
                drop(held);
                tracing::warn!(
                    error = %err,
                    moved_to = %aside.display(),
                    "the replaced search index was damaged; kept for inspection"
                );
                kept = Some(aside);
            }
        }
    }
    std::fs::rename(built, dir).map_err(|err| {
        std::io::Error::new(
            err.kind(),
            format!(
                "cannot move the new search index {} to {}: {err}",
                built.display(),
                dir.display()
            ),
        )
    })?;
    Ok(kept)
}

#[cfg(test)]
mod tests {
    use tantivy::{
        TantivyDocument,
        schema::{STORED, Schema, Value},
    };

    use super::*;
    use crate::{Index, ServiceDoc, Synonyms};

    /// Incompressible text: the stored documents stay about as large as the text.
    fn noise(rng: &mut fastrand::Rng, len: usize) -> String {
        (0..len).map(|_| rng.alphanumeric()).collect()
    }

    #[test]
    fn the_checksum_check_finds_what_tantivys_finds() {
        let root = tempfile::tempdir().expect("tempdir");
        let dir = root.path().join("index");
        let index = Index::open(&dir, Synonyms::default()).expect("open");
        let docs = |n: usize| -> Vec<ServiceDoc> {
            (0..n)
                .map(|i| ServiceDoc {
                    id: uuid::Uuid::new_v4(),
                    name: format!("Service {i}"),
                    description: format!("Baby group {i}"),
                    status: "ACTIVE".into(),
                    ..ServiceDoc::default()
                })
                .collect()
        };
        let first = docs(40);
        index.rebuild(first.clone(), 1).expect("rebuild");
        // Replacing a few leaves a deletion file beside the rebuilt segment.
        index.apply(&first[..3], &[], 2).expect("apply");
        drop(index);
        let check = |dir: &Path| {
            let index = TantivyIndex::open(IndexDirectory::open(dir).expect("dir")).expect("open");
            // Tantivy's check fails outright on a damaged footer, naming the file.
            let theirs = match index.validate_checksum() {
                Ok(found) => {
                    let mut found: Vec<String> =
                        found.iter().map(|p| p.display().to_string()).collect();
                    found.sort();
                    found
                }
                Err(tantivy::TantivyError::OpenReadError(OpenReadError::IoError {
                    filepath,
                    ..
                })) => vec![filepath.display().to_string()],
                Err(err) => panic!("tantivy's check: {err}"),
            };
            (damaged_files(&index, dir).expect("check"), theirs)
        };
        let (ours, theirs) = check(&dir);
        assert!(ours.is_empty() && theirs.is_empty(), "{ours:?} {theirs:?}");
        let segment_files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .expect("list")
            .map(|entry| entry.expect("entry").path())
            .filter(|path| {
                path.extension()
                    .is_some_and(|ext| ext != "json" && ext != "lock")
            })
            .collect();
        let kinds: BTreeSet<String> = segment_files
            .iter()
            .filter_map(|p| Some(p.extension()?.to_string_lossy().into_owned()))
            .collect();
        for kind in ["idx", "term", "fieldnorm", "fast", "store", "del"] {
            assert!(kinds.contains(kind), "no .{kind} file among {kinds:?}");
        }
        for file in segment_files {
            let copy = root.path().join("copy");
            if copy.exists() {
                std::fs::remove_dir_all(&copy).expect("clear");
            }
            std::fs::create_dir(&copy).expect("mkdir");
            for entry in std::fs::read_dir(&dir).expect("list") {
                let entry = entry.expect("entry");
                std::fs::copy(entry.path(), copy.join(entry.file_name())).expect("copy");
            }
            let name = file.file_name().expect("name");
            let damaged = copy.join(name);
            let mut bytes = std::fs::read(&damaged).expect("read");
            // A byte of the body (before the footer), or of the footer for a tiny file.
            let at = bytes.len() / 3;
            bytes[at] ^= 0x20;
            std::fs::write(&damaged, bytes).expect("write");
            let (ours, theirs) = check(&copy);
            assert_eq!(
                ours,
                vec![name.to_string_lossy().into_owned()],
                "{theirs:?}"
            );
            assert_eq!(ours, theirs);
        }
    }

    #[test]
    fn stored_documents_are_read_from_the_file_not_the_map_and_merge_intact() {
        let root = tempfile::tempdir().expect("tempdir");
        let mut builder = Schema::builder();
        let text = builder.add_text_field("text", STORED);
        let index = TantivyIndex::create(
            IndexDirectory::open(root.path()).expect("dir"),
            builder.build(),
            tantivy::IndexSettings::default(),
        )
        .expect("create");
        let mut writer: tantivy::IndexWriter = index
            .writer_with_num_threads(1, 15_000_000)
            .expect("writer");
        writer.set_merge_policy(Box::new(tantivy::indexer::NoMergePolicy));
        let mut rng = fastrand::Rng::with_seed(7);
        let mut written = Vec::new();
        // Two segments of a few megabytes of stored documents each.
        for _ in 0..2 {
            for _ in 0..1_300 {
                let value = noise(&mut rng, 4_000);
                let mut doc = TantivyDocument::new();
                doc.add_text(text, &value);
                writer.add_document(doc).expect("add");
                written.push(value);
            }
            writer.commit().expect("commit");
        }
        let segments = index.searchable_segment_ids().expect("segments");
        assert_eq!(segments.len(), 2);
        let directory = IndexDirectory::open(root.path()).expect("dir");
        for meta in index.searchable_segment_metas().expect("metas") {
            let path = meta.relative_path(SegmentComponent::Store);
            let handle = directory.get_file_handle(&path).expect("handle");
            assert!(handle.len() >= 4 << 20, "{} bytes", handle.len());
            let whole = handle.read_bytes(0..handle.len()).expect("read whole");
            let on_disk = std::fs::read(root.path().join(&path)).expect("read file");
            assert_eq!(whole.as_slice(), on_disk.as_slice());
            let part = handle.read_bytes(100..4_196).expect("read part");
            assert_eq!(part.as_slice(), &on_disk[100..4_196]);
            assert!(handle.read_bytes(0..handle.len() + 1).is_err());
        }
        assert!(matches!(
            directory.get_file_handle(Path::new("missing.store")),
            Err(OpenReadError::FileDoesNotExist(_))
        ));
        writer.merge(&segments).wait().expect("merge");
        writer.wait_merging_threads().expect("merged");
        let reader = index.reader().expect("reader");
        let searcher = reader.searcher();
        assert_eq!(searcher.segment_readers().len(), 1);
        let store = searcher
            .segment_reader(0)
            .get_store_reader(0)
            .expect("store");
        let read: Vec<String> = (0..searcher.num_docs())
            .map(|doc| {
                let doc: TantivyDocument =
                    store.get(u32::try_from(doc).expect("doc id")).expect("doc");
                doc.get_first(text)
                    .and_then(|v| v.as_str())
                    .expect("text")
                    .to_owned()
            })
            .collect();
        // Every document was read, and no stored documents' file is mapped into the process
        // (the other files of the segment are).
        let maps = std::fs::read_to_string("/proc/self/maps").expect("maps");
        let root = root.path().to_string_lossy().into_owned();
        let mapped: Vec<&str> = maps.lines().filter(|line| line.contains(&root)).collect();
        assert!(
            mapped.iter().any(|line| line.ends_with(".idx")),
            "{mapped:?}"
        );
        assert!(
            !mapped.iter().any(|line| line.ends_with(".store")),
            "{mapped:?}"
        );
        // (The merged segment takes the segments in the order the merge names them.)
        let (mut read, mut written) = (read, written);
        read.sort();
        written.sort();
        assert_eq!(read.len(), written.len());
        assert!(read == written, "the merged segment's documents differ");
    }
}
