//! Verdicts: thresholds evaluated against one run's exact numbers.
