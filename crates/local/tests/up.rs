//! `foodstream-local up` as a process (what `make up` runs): once the stack
//! has started, a failure on the way to "ready" still stops the console and
//! the stack before the command exits with the error.
//!
//! Needs moto and Tansu (`scripts/emulators.sh up`) and the function
//! binaries (`cargo build --workspace --bins`), like the other stack tests.

mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long the command may take to start, fail and stop.
const DEADLINE: Duration = Duration::from_secs(180);

#[test]
fn a_failure_after_the_stack_started_stops_the_stack_before_the_error() {
    let run = support::Settings::new("up").run;
    let dir = std::env::temp_dir().join(format!("foodstream-{run}"));
    let state_dir = dir.join("run");
    // A directory where the stack's settings file goes: writing them, the
    // last step before "ready", fails after the stack and console started.
    std::fs::create_dir_all(state_dir.join("stack.json")).unwrap();
    let (stdout, stderr) = (dir.join("stdout.txt"), dir.join("stderr.txt"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_foodstream-local"))
        .arg("up")
        .arg("--template")
        .arg(support::workspace().join("infra/template.yaml"))
        .arg("--bin-dir")
        .arg(support::bin_dir())
        .args(["--api", "127.0.0.1:0", "--console", "127.0.0.1:0"])
        .args([
            "--namespace",
            &run,
            "--topic-prefix",
            &format!("{run}."),
            "--group-prefix",
            &format!("{run}-"),
        ])
        .args(["--aws-endpoint", &foodstream_testkit::endpoint()])
        .args(["--kafka", &foodstream_testkit::kafka_bootstrap()])
        .arg("--log-dir")
        .arg(dir.join("logs"))
        .arg("--state-dir")
        .arg(&state_dir)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout).unwrap())
        .stderr(std::fs::File::create(&stderr).unwrap())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > DEADLINE {
            // Stopped by its own PID, never left running.
            let _ = child.kill();
            let _ = child.wait();
            panic!("`foodstream-local up` did not exit within {DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let out = std::fs::read_to_string(&stdout).unwrap();
    let err = std::fs::read_to_string(&stderr).unwrap();
    assert!(!status.success(), "the failure is the command's exit status\n{out}\n{err}");
    assert!(err.contains("directory"), "the error says what failed: {err}");
    let lines: Vec<&str> = out.lines().map(|l| l.split_once(' ').map_or(l, |(_, text)| text)).collect();
    assert!(!lines.iter().any(|l| l.starts_with("ready")), "{out}");
    let stopping = lines.iter().position(|l| *l == "stopping");
    let stopped = lines.iter().position(|l| *l == "stopped");
    assert!(
        matches!((stopping, stopped), (Some(a), Some(b)) if a < b),
        "the console and the stack were stopped before the error:\n{out}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
