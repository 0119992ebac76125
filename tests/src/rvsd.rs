//! Running rvsd as a child process and reading its final counters.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A binary of the workspace's release build, or of `$RVS_BIN_DIR` when
/// set (to run a test against another build, e.g. an older commit's).
pub fn binary(name: &str) -> PathBuf {
    let dir =
        std::env::var_os("RVS_BIN_DIR").map(PathBuf::from).unwrap_or_else(|| crate::root().join("target/release"));
    let p = dir.join(name);
    assert!(p.exists(), "{} not built: run cargo build --release (./scripts/test.sh does)", p.display());
    p
}

/// A running rvsd; killed (SIGKILL) if dropped without `stop`.
pub struct Rvsd {
    child: Child,
    log: PathBuf,
}

impl Rvsd {
    /// Start rvsd with `config`, output to `log`; wait for "ready".
    pub fn start(config: &Path, log: &Path) -> Rvsd {
        Self::start_cmd(Command::new(binary("rvsd")), config, log)
    }

    /// Start rvsd inside network namespace `ns` (its net_tap devices
    /// appear there, never in the root namespace).
    pub fn start_in(ns: &str, config: &Path, log: &Path) -> Rvsd {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", ns]).arg(binary("rvsd"));
        Self::start_cmd(c, config, log)
    }

    /// Start `cmd` (rvsd, or a wrapper running it) with `--config`; wait for "ready".
    pub fn start_cmd(mut cmd: Command, config: &Path, log: &Path) -> Rvsd {
        let f = std::fs::File::create(log).unwrap();
        let child = cmd
            .arg("--config")
            .arg(config)
            .stdout(Stdio::from(f.try_clone().unwrap()))
            .stderr(Stdio::from(f))
            .spawn()
            .expect("spawn rvsd");
        let mut r = Rvsd { child, log: log.to_path_buf() };
        let t = Instant::now();
        // The ready line in either log format.
        while !(r.output().contains("rvsd: ready") || r.output().contains("\"message\":\"ready: ")) {
            if let Ok(Some(st)) = r.child.try_wait() {
                panic!("rvsd exited early ({st}):\n{}", r.output());
            }
            assert!(t.elapsed() < Duration::from_secs(30), "rvsd not ready:\n{}", r.output());
            std::thread::sleep(Duration::from_millis(50));
        }
        r
    }

    pub fn output(&self) -> String {
        let mut s = String::new();
        if let Ok(mut f) = std::fs::File::open(&self.log) {
            let _ = f.read_to_string(&mut s);
        }
        s
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGTERM, wait, return (exit code, output).
    pub fn stop(mut self) -> (i32, String) {
        // SIGTERM by PID of the child we started.
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let t = Instant::now();
        loop {
            if let Ok(Some(st)) = self.child.try_wait() {
                return (st.code().unwrap_or(-1), self.output());
            }
            if t.elapsed() > Duration::from_secs(15) {
                let _ = self.child.kill();
                panic!("rvsd did not stop on SIGTERM:\n{}", self.output());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Rvsd {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The final counters of a stopped rvsd, parsed strictly (see
/// [`crate::counters`]).
pub use crate::counters::final_counters;
