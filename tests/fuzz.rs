//! A test-sized fuzzing campaign (the long one is `mid-fuzz`, docs/reliability.md): mutated
//! and generated inputs through check, compile and run on a tiny network, with zero panics,
//! internal errors or failed runs of clean scripts.

use mid_fuzz::{Target, campaign};

use crate::common::small_network;

fn quiet(_: u64, _: usize) {}

#[test]
fn a_short_campaign_finds_nothing() {
    for (target, inputs, least_clean) in [
        (Target::Check, 20_000, 2_000),
        (Target::Compile, 2_000, 200),
        (Target::Run, 150, 60),
    ] {
        let s = campaign(target, 11, inputs, 2, small_network(), &quiet);
        let failures: Vec<String> = s
            .failures
            .iter()
            .map(|(sig, (n, f))| {
                format!(
                    "{n} × {sig} (input {}):\n{}",
                    f.index,
                    String::from_utf8_lossy(&f.input)
                )
            })
            .collect();
        assert!(
            failures.is_empty(),
            "{target:?}:\n{}",
            failures.join("\n\n")
        );
        // The inputs reach the deeper stages, or the campaign tests little.
        assert!(
            s.clean >= least_clean,
            "{target:?}: only {} of {inputs} inputs checked clean",
            s.clean
        );
    }
}
