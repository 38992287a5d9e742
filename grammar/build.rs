//! Generates the LR(1) parser from src/parser.lalrpop.
fn main() {
    lalrpop::Configuration::new()
        .use_cargo_dir_conventions()
        .process()
        .expect("the .mid grammar must generate");
}
