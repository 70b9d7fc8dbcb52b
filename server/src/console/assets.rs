//! The console's and GraphiQL's files, compiled into the binary from `server/console/`.
//!
//! A plain table rather than a directory-embedding crate: the list is short, each file's media
//! type is written next to it, and a unit test fails when a file in the directory is missing
//! here (or the other way round). GraphiQL and React are vendored from npm by
//! `scripts/vendor-graphiql.sh`, which records each file's SHA-256 in
//! `server/console/vendor/graphiql/MANIFEST`; a test fails when a vendored file differs from it.

use std::sync::OnceLock;

use sha2::{Digest, Sha256};

/// One embedded file.
pub struct Asset {
    /// Path under `server/console/`.
    pub path: &'static str,
    pub media_type: &'static str,
    pub bytes: &'static [u8],
    etag: OnceLock<String>,
}

impl Asset {
    /// A strong validator: the file's SHA-256, computed once.
    pub fn etag(&self) -> &str {
        self.etag.get_or_init(|| format!("\"{}\"", hex_sha256(self.bytes)))
    }
}

macro_rules! assets {
    ($($path:literal => $media_type:literal),* $(,)?) => {
        [$(Asset {
            path: $path,
            media_type: $media_type,
            bytes: include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/console/", $path)),
            etag: OnceLock::new(),
        }),*]
    };
}

static ASSETS: [Asset; 21] = assets![
    "index.html" => "text/html; charset=utf-8",
    "console.css" => "text/css; charset=utf-8",
    "icon.svg" => "image/svg+xml",
    "app.js" => "text/javascript; charset=utf-8",
    "api.js" => "text/javascript; charset=utf-8",
    "i18n.js" => "text/javascript; charset=utf-8",
    "ui.js" => "text/javascript; charset=utf-8",
    "map.js" => "text/javascript; charset=utf-8",
    "words.js" => "text/javascript; charset=utf-8",
    "pages/committee.js" => "text/javascript; charset=utf-8",
    "pages/listing.js" => "text/javascript; charset=utf-8",
    "pages/provider.js" => "text/javascript; charset=utf-8",
    "pages/referrals.js" => "text/javascript; charset=utf-8",
    "pages/casework.js" => "text/javascript; charset=utf-8",
    "graphiql.html" => "text/html; charset=utf-8",
    "graphiql.js" => "text/javascript; charset=utf-8",
    "graphiql.css" => "text/css; charset=utf-8",
    "vendor/graphiql/react.production.min.js" => "text/javascript; charset=utf-8",
    "vendor/graphiql/react-dom.production.min.js" => "text/javascript; charset=utf-8",
    "vendor/graphiql/graphiql.min.js" => "text/javascript; charset=utf-8",
    "vendor/graphiql/graphiql.min.css" => "text/css; charset=utf-8",
];

/// The SHA-256 of `bytes` in lower-case hex.
pub fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Look-up of the embedded files.
pub struct ConsoleAssets;

impl ConsoleAssets {
    /// The file at `path` under `server/console/`, if embedded.
    pub fn get(path: &str) -> Option<&'static Asset> {
        ASSETS.iter().find(|asset| asset.path == path)
    }

    /// Every embedded file.
    pub fn all() -> &'static [Asset] {
        &ASSETS
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;

    /// Files in `server/console/` that are not served: the vendoring record and licences.
    const NOT_SERVED: &[&str] = &["vendor/graphiql/MANIFEST", "vendor/graphiql/LICENSES.md"];

    fn files_under(root: &Path, dir: &Path, found: &mut Vec<String>) {
        let entries = std::fs::read_dir(dir).unwrap_or_else(|error| panic!("{}: {error}", dir.display()));
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                files_under(root, &path, found);
            } else if let Ok(relative) = path.strip_prefix(root) {
                found.push(relative.to_string_lossy().replace('\\', "/"));
            }
        }
    }

    fn console_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("console")
    }

    #[test]
    fn every_file_of_the_console_directory_is_embedded_and_nothing_else() {
        let mut on_disk = Vec::new();
        files_under(&console_dir(), &console_dir(), &mut on_disk);
        on_disk.retain(|path| !NOT_SERVED.contains(&path.as_str()));
        on_disk.sort();
        let mut embedded: Vec<String> = ConsoleAssets::all().iter().map(|a| a.path.to_owned()).collect();
        embedded.sort();
        assert_eq!(on_disk, embedded, "list new console files in console/assets.rs (and drop removed ones)");
    }

    /// The vendored GraphiQL files are exactly what `scripts/vendor-graphiql.sh` fetched: an
    /// edited or half-updated copy fails here (rerun the script to refresh them).
    #[test]
    fn vendored_files_match_their_manifest() {
        let manifest_path = console_dir().join("vendor/graphiql/MANIFEST");
        let manifest = std::fs::read_to_string(&manifest_path).unwrap_or_else(|e| panic!("{e}"));
        let mut listed = Vec::new();
        for line in manifest.lines().filter(|line| !line.starts_with('#') && !line.trim().is_empty()) {
            let mut parts = line.split_whitespace();
            let (Some(digest), Some(path)) = (parts.next(), parts.next()) else { panic!("bad manifest line {line}") };
            let asset = ConsoleAssets::get(&format!("vendor/graphiql/{path}"))
                .unwrap_or_else(|| panic!("{path} is in the manifest but not embedded"));
            assert_eq!(
                hex_sha256(asset.bytes),
                digest,
                "{path} differs from the manifest: rerun scripts/vendor-graphiql.sh"
            );
            listed.push(path.to_owned());
        }
        let vendored = ConsoleAssets::all().iter().filter_map(|a| a.path.strip_prefix("vendor/graphiql/"));
        for path in vendored {
            assert!(listed.iter().any(|l| l == path), "{path} is embedded but not in the manifest");
        }
    }
}
