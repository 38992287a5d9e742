//! Fingerprints the generator's source so the demo network's cache directory changes whenever
//! the generator (or the contract it writes) does: an old cached network is never reused.
use std::path::Path;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(root.join("src/synth"))
        .expect("runtime/src/synth exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .collect();
    files.push(root.join("../compiler/src/cdm.rs"));
    files.sort();
    // FNV-1a over the files' names and contents, in name order.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
        let name = f
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let bytes = std::fs::read(f).expect("a generator source file");
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
