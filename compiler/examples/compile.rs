fn main() {
    let path = std::env::args().nth(1).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    match mid_compiler::compile(&path, &text) {
        Ok(c) => {
            println!("{}", mid_compiler::cir::print(&c.cir));
            for p in &c.plans {
                println!("== {} ==\n{}", p.name, p.plan.display_indent());
            }
        }
        Err(mid_compiler::CompileError::Diagnostics(c)) => print!(
            "{}",
            mid_compiler::diagnostics::render_human(&c.diagnostics, &c.sources, Default::default())
        ),
        Err(mid_compiler::CompileError::Plan(_, e)) => println!("PLAN ERROR {e}"),
    }
}
