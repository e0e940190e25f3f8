//! `FOODSTREAM_WIRING=print`: a function binary describes itself instead of
//! serving. Its `main.rs` has built every adapter by then, so what it
//! prints (the variables it read, the grants its adapters declared; see
//! `foodstream_config`) is the code's own account, which the template test
//! compares with the function's `Environment` and `Policies`.

/// Prints the wiring as one JSON line and returns true when asked to.
pub fn print_if_asked() -> bool {
    if !foodstream_config::describing_only() {
        return false;
    }
    let wired = foodstream_config::wired();
    let grants: Vec<String> = wired.grants.iter().map(ToString::to_string).collect();
    println!("{}", serde_json::json!({ "environment": wired.environment, "grants": grants }));
    true
}
