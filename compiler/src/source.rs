//! Source files known to one compilation: the user's files and the standard library, which is
//! compiled into the binary from `stdlib/*.mid` so a script always meets the same stdlib.

use std::sync::Arc;

/// Identifies one file of a `SourceMap`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileId(pub u32);

#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The name shown in messages: a path for user files, `stdlib/labs.mid` for the stdlib.
    pub name: String,
    pub text: Arc<str>,
    pub stdlib: bool,
    /// Byte offsets where lines start, so finding a line takes a binary search, not a scan
    /// of the file (a file with many diagnostics would otherwise cost its size each).
    line_starts: Vec<usize>,
}

/// Every file of a compilation, by id.
#[derive(Debug, Clone, Default)]
pub struct SourceMap {
    files: Vec<SourceFile>,
}

impl SourceMap {
    pub fn new() -> SourceMap {
        SourceMap::default()
    }

    pub fn add(
        &mut self,
        name: impl Into<String>,
        text: impl Into<Arc<str>>,
        stdlib: bool,
    ) -> FileId {
        let id = FileId(self.files.len() as u32);
        let text: Arc<str> = text.into();
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        self.files.push(SourceFile {
            name: name.into(),
            text,
            stdlib,
            line_starts,
        });
        id
    }

    pub fn get(&self, id: FileId) -> &SourceFile {
        &self.files[id.0 as usize]
    }

    pub fn iter(&self) -> impl Iterator<Item = (FileId, &SourceFile)> {
        self.files
            .iter()
            .enumerate()
            .map(|(i, f)| (FileId(i as u32), f))
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, id: FileId, offset: usize) -> (usize, usize) {
        let f = self.get(id);
        let text = &f.text;
        let offset = offset.min(text.len());
        let mut cut = offset;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        // The last line start at or before `cut`.
        let line = f.line_starts.partition_point(|&s| s <= cut).max(1);
        let line_start = f.line_starts[line - 1];
        let col = text[line_start..cut].chars().count() + 1;
        (line, col)
    }
}

/// A stdlib module: its name (what `import` names) and its text.
pub struct StdlibModule {
    pub name: &'static str,
    pub text: &'static str,
}

include!(concat!(env!("OUT_DIR"), "/stdlib_modules.rs"));

/// The standard library's modules, in name order.
pub fn stdlib() -> &'static [StdlibModule] {
    STDLIB
}

/// A declaration of the stdlib: its module, keyword and name.
pub struct StdlibDecl {
    pub module: &'static str,
    pub keyword: &'static str,
    pub name: String,
}

/// Every stdlib declaration, in module and line order: the lines that start with a declaring
/// keyword (read from the text, so no module has to be checked to know them).
pub fn stdlib_declarations() -> &'static [StdlibDecl] {
    use std::sync::OnceLock;
    static DECLS: OnceLock<Vec<StdlibDecl>> = OnceLock::new();
    DECLS.get_or_init(|| {
        let mut out = Vec::new();
        for m in STDLIB {
            for line in m.text.lines() {
                for keyword in ["codes", "define", "lab", "grading", "cohort", "outcome"] {
                    let Some(rest) = line.strip_prefix(keyword).and_then(|r| r.strip_prefix(' '))
                    else {
                        continue;
                    };
                    let name: String = rest
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    if !name.is_empty() {
                        out.push(StdlibDecl {
                            module: m.name,
                            keyword,
                            name,
                        });
                    }
                }
            }
        }
        out
    })
}

/// The stdlib module that declares `name` (`glucose` → `labs`), for the hint of an unknown
/// name (the first, in module order).
pub fn stdlib_home(name: &str) -> Option<&'static str> {
    stdlib_declarations()
        .iter()
        .find(|d| d.name == name)
        .map(|d| d.module)
}

/// What people often write for a name the language spells otherwise.
pub fn synonym(name: &str) -> Option<&'static str> {
    Some(match name.to_ascii_lowercase().as_str() {
        "gender" => "sex",
        "hemoglobin_a1c" | "a1c" | "haemoglobin_a1c" => "hba1c",
        "sgpt" | "gpt" => "alt",
        "sgot" | "got" => "ast",
        "hospital_id" | "site" => "hospital",
        _ => return None,
    })
}
