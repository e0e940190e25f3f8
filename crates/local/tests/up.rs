//! `foodstream-local up` as a process (what `make up` runs): SIGTERM to its
//! process group (what `make down` sends) stops the console and the stack and removes the
//! settings file; once the stack has started, a failure on the way to
//! "ready" still stops both before the command exits with the error.
//!
//! Needs moto and Tansu (`scripts/emulators.sh up`) and the function
//! binaries (`cargo build --workspace --bins`), like the other stack tests.

mod support;

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// How long the command may take to start, and to stop.
const DEADLINE: Duration = Duration::from_secs(180);

/// One `foodstream-local up` of its own namespace, topics and groups,
/// writing its output to files in `dir`.
struct Up {
    child: Child,
    dir: PathBuf,
}

impl Up {
    fn start(label: &str, prepare: impl FnOnce(&Path)) -> Up {
        let run = support::Settings::new(label).run;
        let dir = std::env::temp_dir().join(format!("foodstream-{run}"));
        std::fs::create_dir_all(dir.join("run")).unwrap();
        prepare(&dir.join("run"));
        let child = Command::new(env!("CARGO_BIN_EXE_foodstream-local"))
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
            .arg(dir.join("run"))
            .args(["--launcher", &support::launcher().join(" ")])
            // A group of its own: whatever it started is stopped with it
            // if it overstays (by its id, never by name).
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(dir.join("stdout.txt")).unwrap())
            .stderr(std::fs::File::create(dir.join("stderr.txt")).unwrap())
            .spawn()
            .unwrap();
        Up { child, dir }
    }

    /// The stack's log lines, without their time.
    fn lines(&self) -> Vec<String> {
        let out = std::fs::read_to_string(self.dir.join("stdout.txt")).unwrap_or_default();
        out.lines().map(|l| l.split_once(' ').map_or(l, |(_, text)| text).to_owned()).collect()
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.join("stderr.txt")).unwrap_or_default()
    }

    /// Waits until `done` holds or the command exited; kills its group
    /// past the deadline.
    fn wait_for(&mut self, what: &str, done: impl Fn(&Up) -> bool) -> Option<ExitStatus> {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            if done(self) {
                return None;
            }
            if started.elapsed() > DEADLINE {
                self.signal("KILL", true);
                let _ = self.child.wait();
                panic!("no {what} within {DEADLINE:?} ({}):\n{:?}", self.dir.display(), self.lines());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn exit(&mut self) -> ExitStatus {
        self.wait_for("exit", |_| false).unwrap()
    }

    /// Sends `signal` to the command (or to its whole group), by id.
    fn signal(&self, signal: &str, group: bool) {
        let target = if group { format!("-{}", self.child.id()) } else { self.child.id().to_string() };
        let sent =
            Command::new("bash").args(["-c", &format!("kill -{signal} -- {target}")]).status().unwrap();
        assert!(sent.success() || signal == "KILL", "kill -{signal} {target}");
    }

    /// Whether "stopping" came, then "stopped".
    fn stopped_in_order(&self) -> bool {
        let lines = self.lines();
        let at = |line: &str| lines.iter().position(|l| l == line);
        matches!((at("stopping"), at("stopped")), (Some(a), Some(b)) if a < b)
    }
}

/// A test that fails while the command runs does not leave it running.
impl Drop for Up {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            self.signal("KILL", true);
            let _ = self.child.wait();
        }
    }
}

#[test]
fn sigterm_stops_a_running_stack_and_removes_its_settings() {
    let mut up = Up::start("upterm", |_| {});
    let exited =
        up.wait_for("ready", |up| up.lines().iter().any(|l| l.starts_with("ready: API http://127.0.0.1:")));
    assert!(exited.is_none(), "it exited before ready: {:?}\n{}", up.lines(), up.stderr());
    assert!(up.dir.join("run/stack.json").is_file(), "the settings `make invoke` reads");
    // What `make down` sends: TERM to the whole process group.
    up.signal("TERM", true);
    let status = up.exit();
    assert!(status.success(), "{status:?}: {}", up.stderr());
    assert!(up.stopped_in_order(), "{:?}", up.lines());
    assert!(!up.dir.join("run/stack.json").exists(), "a stopped stack leaves no settings behind");
    std::fs::remove_dir_all(&up.dir).unwrap();
}

#[test]
fn a_failure_after_the_stack_started_stops_the_stack_before_the_error() {
    // A directory where the stack's settings file goes: writing them, the
    // last step before "ready", fails after the stack and console started.
    let mut up = Up::start("upfail", |state_dir| std::fs::create_dir(state_dir.join("stack.json")).unwrap());
    let status = up.exit();
    let err = up.stderr();
    assert!(!status.success(), "the failure is the command's exit status: {:?}", up.lines());
    assert!(err.contains("stack.json") && err.contains("directory"), "the error names the file: {err}");
    assert!(!up.lines().iter().any(|l| l.starts_with("ready")), "{:?}", up.lines());
    assert!(
        up.stopped_in_order(),
        "the console and the stack were stopped before the error: {:?}",
        up.lines()
    );
    std::fs::remove_dir_all(&up.dir).unwrap();
}
