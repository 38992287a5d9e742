//! The .mid grammar.
