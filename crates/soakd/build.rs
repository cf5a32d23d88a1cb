//! Fills `soakd_build_info{revision}` (issue 15): the git commit soakd is built from, read at
//! build time. `SOAKD_REVISION` set in the environment wins (the Docker build passes it, having
//! no .git); without git or a repository the revision is "unknown".

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    let s = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (out.status.success() && !s.is_empty()).then_some(s)
}

fn main() {
    println!("cargo:rerun-if-env-changed=SOAKD_REVISION");
    if let Some(dir) = git(&["rev-parse", "--absolute-git-dir"]) {
        // A new commit or checkout moves HEAD (or the ref it names): rebuild then.
        println!("cargo:rerun-if-changed={dir}/HEAD");
        println!("cargo:rerun-if-changed={dir}/logs/HEAD");
    }
    let revision = std::env::var("SOAKD_REVISION")
        .ok()
        .filter(|r| !r.is_empty())
        .or_else(|| git(&["rev-parse", "--short=12", "HEAD"]))
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=SOAKD_REVISION={revision}");
}
