//! The index directory on disk: checking that an index can be read in full, moving a damaged
//! one aside (keeping a few copies for inspection) and swapping a freshly built one in.
//!
//! The index is derived data: the database is the source of truth, so an index that cannot be
//! read is never repaired in place but set aside and rebuilt.

use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
};

use tantivy::{
    Index as TantivyIndex, ReloadPolicy,
    directory::{Directory, DirectoryLock, INDEX_WRITER_LOCK, MmapDirectory, error::LockError},
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

/// Takes the index's writer lock (without opening the index), so that nothing is moved or
/// replaced under a process that still uses it. Creates `dir` when missing.
pub(crate) fn lock(dir: &Path) -> Result<DirectoryLock, SearchError> {
    std::fs::create_dir_all(dir)?;
    let directory = MmapDirectory::open(dir)?;
    directory
        .acquire_lock(&INDEX_WRITER_LOCK)
        .map_err(|err| match err {
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

/// Reads every file of every segment the index's `meta.json` lists (each file's checksum),
/// then opens each segment's term dictionaries, postings, fast fields, field norms, deletes
/// and document store as a first search would. Damage is found here, not by a search.
pub(crate) fn verify(index: &TantivyIndex) -> Result<(), SearchError> {
    let damaged = index.validate_checksum()?;
    if !damaged.is_empty() {
        let mut files: Vec<String> = damaged.iter().map(|p| p.display().to_string()).collect();
        files.sort();
        return Err(SearchError::Damaged(format!(
            "checksum mismatch in {}",
            files.join(", ")
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
            TantivyIndex::open_in_dir(dir)
                .map_err(SearchError::from)
                .and_then(|index| verify(&index))
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
