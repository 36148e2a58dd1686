//! Bundles the files the harness needs at run time into the binary (see `src/assets.rs`): the conformance
//! catalogue with the SDK traces it replays, the load profiles, the PHP worker, the CakePHP test app and the
//! DynamoSession plugin. Composer vendor trees, CakePHP's `tmp/` and PHPUnit's caches are left out.
//!
//! Writes `$OUT_DIR/assets.rs`: `FILES` (path relative to the workspace root, bytes, executable bit) in path
//! order and `HASH`, a 128-bit FNV-1a over every path, length, mode and content, which names the folder the
//! files are extracted to.

use std::fmt::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

/// The folders bundled, relative to the workspace root; the binary lays them out the same way.
const ROOTS: &[&str] = &[
    "scenarios/conformance",
    "scenarios/load",
    "fixtures/sdk-traces",
    "fixtures/php-worker",
    "fixtures/php-protocol",
    "fixtures/cakephp-app",
    "plugin/DynamoSession",
];

/// Folder names never bundled, wherever they are: dependency trees and run-time scratch.
const SKIP_DIRS: &[&str] = &["vendor", "Vendor", "tmp", "node_modules", ".git"];

fn skipped(name: &str, is_dir: bool) -> bool {
    (is_dir && SKIP_DIRS.contains(&name)) || name.starts_with(".phpunit") || name == ".DS_Store"
}

struct Walk {
    files: Vec<(String, PathBuf, bool)>,
    /// Folders whose whole subtree is bundled: watched as folders (cargo scans them recursively), so an added
    /// file is noticed. A folder holding a skipped entry is not watched as a whole, or every change under its
    /// vendor tree or PHPUnit cache would rebuild the harness; its bundled files are watched one by one.
    watched_dirs: Vec<PathBuf>,
}

/// Walks `dir`; returns whether nothing under it was skipped.
fn walk(workspace: &Path, dir: &Path, out: &mut Walk) -> bool {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .collect();
    entries.sort();
    let mut complete = true;
    for path in entries {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        let meta =
            std::fs::metadata(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        if skipped(&name, meta.is_dir()) {
            complete = false;
            continue;
        }
        if meta.is_dir() {
            complete &= walk(workspace, &path, out);
        } else if meta.is_file() {
            let relative = path
                .strip_prefix(workspace)
                .expect("under the workspace")
                .to_str()
                .expect("UTF-8 file names in the bundled folders")
                .to_owned();
            let executable = meta.permissions().mode() & 0o111 != 0;
            out.files.push((relative, path, executable));
        }
    }
    if complete {
        out.watched_dirs.push(dir.to_owned());
    }
    complete
}

/// FNV-1a, 128 bits: a content key for the extraction folder, not a security measure.
struct Fnv128(u128);

impl Fnv128 {
    const OFFSET: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    const PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;

    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 ^= u128::from(*byte);
            self.0 = self.0.wrapping_mul(Self::PRIME);
        }
    }
}

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let workspace = manifest
        .parent()
        .expect("the harness crate sits in the workspace")
        .to_owned();
    let mut out = Walk {
        files: Vec::new(),
        watched_dirs: Vec::new(),
    };
    for root in ROOTS {
        let dir = workspace.join(root);
        assert!(dir.is_dir(), "{} is missing", dir.display());
        walk(&workspace, &dir, &mut out);
    }
    out.files.sort_by(|a, b| a.0.cmp(&b.0));

    let mut hash = Fnv128(Fnv128::OFFSET);
    let mut code = String::from(
        "/// Every bundled file: its path relative to the workspace root, its bytes, and whether it is executable.\n\
         pub static FILES: &[(&str, &[u8], bool)] = &[\n",
    );
    for (relative, path, executable) in &out.files {
        let bytes =
            std::fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        hash.write(relative.as_bytes());
        hash.write(&[0, u8::from(*executable)]);
        hash.write(&(bytes.len() as u64).to_le_bytes());
        hash.write(&bytes);
        let absolute = path.to_str().expect("a UTF-8 path");
        writeln!(
            code,
            "    ({relative:?}, include_bytes!({absolute:?}), {executable}),"
        )
        .expect("writing to a String");
    }
    code.push_str("];\n");
    writeln!(
        code,
        "/// FNV-1a (128 bits) of every bundled path, mode and content, as hex.\npub const HASH: &str = \"{:032x}\";",
        hash.0
    )
    .expect("writing to a String");
    let target = PathBuf::from(std::env::var("OUT_DIR").expect("set by cargo")).join("assets.rs");
    std::fs::write(&target, code).unwrap_or_else(|e| panic!("writing {}: {e}", target.display()));

    println!("cargo::rerun-if-changed=build.rs");
    for dir in &out.watched_dirs {
        println!("cargo::rerun-if-changed={}", dir.display());
    }
    for (_, path, _) in &out.files {
        println!("cargo::rerun-if-changed={}", path.display());
    }
}
