//! The HTTP client: one request in, one outcome out (status and body, or a classified failure).
