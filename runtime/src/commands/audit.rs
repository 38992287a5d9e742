//! `mid audit verify`: checks an audit trail (`network::audit`) and names the first entry that
//! was edited, deleted, inserted or moved.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::error::{Error, Result};
use crate::network::audit::{self, Head};

/// Arguments of `mid audit`.
#[derive(Debug, Clone, clap::Args)]
pub struct AuditArgs {
    #[command(subcommand)]
    pub command: AuditCommand,
}

#[derive(Debug, Clone, clap::Subcommand)]
pub enum AuditCommand {
    /// Check a log's hash chain; exit 0 when intact, 1 naming the first damaged entry.
    Verify {
        /// The log (`audit.jsonl`).
        log: PathBuf,
        /// A head recorded elsewhere (`SEQ:HASH`, as an extraction or release records it): the
        /// log must still reach it, so entries cut from its end are found too.
        #[arg(long, value_name = "SEQ:HASH")]
        head: Option<String>,
    },
}

pub fn audit(args: &AuditArgs) -> Result<ExitCode> {
    match &args.command {
        AuditCommand::Verify { log, head } => {
            let head = head.as_deref().map(parse_head).transpose()?;
            let entries = audit::verify(log)?;
            if let Some(h) = &head {
                audit::reaches(&entries, h)
                    .map_err(|p| Error::new(format!("audit log {}: {p}", log.display())))?;
            }
            match entries.last() {
                Some(last) => crate::outln!(
                    "{}: {} entries, intact; head {}:{}",
                    log.display(),
                    entries.len(),
                    last.seq,
                    last.hash
                ),
                None => crate::outln!("{}: empty", log.display()),
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn parse_head(text: &str) -> Result<Head> {
    let bad = || Error::usage(format!("--head `{text}` is not SEQ:HASH (e.g. 4:3f2a…)"));
    let (seq, hash) = text.split_once(':').ok_or_else(bad)?;
    let seq = seq.parse().map_err(|_| bad())?;
    if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad());
    }
    Ok(Head {
        seq,
        hash: hash.to_ascii_lowercase(),
    })
}
