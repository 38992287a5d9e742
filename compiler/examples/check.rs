fn main() {
    for path in std::env::args().skip(1) {
        let bytes = std::fs::read(&path).unwrap();
        let c = mid_compiler::check_bytes(&path, &bytes);
        print!(
            "{}",
            mid_compiler::diagnostics::render_human(&c.diagnostics, &c.sources, Default::default())
        );
        println!(
            "{}: {}",
            path,
            mid_compiler::diagnostics::summary(&c.diagnostics)
        );
    }
}
