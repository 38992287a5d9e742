//! Fuzz target: any bytes through the whole compiler (lexer, parser, checker, lowering,
//! code generation). Run with `cargo fuzz run compile` (see docs/performance.md#fuzzing).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = mid_compiler::robustness::compile_bytes(data);
});
