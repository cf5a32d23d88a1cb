//! The demo / calibration target: a real HTTP server with fault injection.
