//! Embeds `stdlib/*.mid` into the compiler, in name order, so the compiler itself does no IO.
use std::fmt::Write;

fn main() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../stdlib");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("stdlib/ must exist next to compiler/")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".mid"))
        .collect();
    names.sort();
    let mut out = String::from("static STDLIB: &[StdlibModule] = &[\n");
    for n in &names {
        let path = dir.join(n);
        println!("cargo:rerun-if-changed={}", path.display());
        let module = n.trim_end_matches(".mid");
        let _ = writeln!(
            out,
            "    StdlibModule {{ name: {module:?}, text: include_str!({:?}) }},",
            path.canonicalize()
                .expect("stdlib file")
                .display()
                .to_string()
        );
    }
    out.push_str("];\n");
    let dest =
        std::path::Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("stdlib_modules.rs");
    std::fs::write(dest, out).expect("write stdlib_modules.rs");
}
