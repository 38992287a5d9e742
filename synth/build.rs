//! Fingerprints every file that shapes the generated data — the generator's source, the CDM
//! contract it writes, and the lock file that pins the random-number and Parquet crates — so
//! the demo network's cache directory changes whenever any of them does: an old cached
//! network is never reused.
use std::path::{Path, PathBuf};

fn rs_files(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{} is readable: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .collect()
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = rs_files(&root.join("src"));
    files.extend(rs_files(&root.join("../cdm/src")));
    files.push(root.join("Cargo.toml"));
    files.push(root.join("../Cargo.lock"));
    files.sort();
    // FNV-1a over the files' names and contents, in name order.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
        let name = f
            .strip_prefix(root.join(".."))
            .unwrap_or(f)
            .display()
            .to_string();
        let bytes = std::fs::read(f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        for b in name.as_bytes().iter().chain(&bytes) {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    println!(
        "cargo:rustc-env=MID_GENERATOR_HASH={:012x}",
        h & 0xffff_ffff_ffff
    );
}
