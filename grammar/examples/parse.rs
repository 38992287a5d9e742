fn main() {
    let path = std::env::args().nth(1).unwrap();
    let src = std::fs::read_to_string(path).unwrap();
    let p = mid_grammar::source_to_ast(&src);
    for e in &p.errors {
        println!(
            "ERROR {:?} at {}: {:?}",
            e.kind,
            e.span,
            &src[e.span.start..e.span.end]
        );
    }
    print!("{}", mid_grammar::pretty::file(&p.file));
}
