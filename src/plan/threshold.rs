//! The k6 threshold grammar, parsed once at plan time.
