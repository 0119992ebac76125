//! The processes a benchmark starts: spawned with their output in a log,
//! recorded by PID in a file (so `scripts/bench.sh`'s trap can stop them
//! even if the harness itself is killed), stopped by PID with SIGTERM and
//! then SIGKILL, and killed on drop: no run leaves a poller behind.

use anyhow::{bail, Context, Result};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Records children's PIDs and watches for SIGINT/SIGTERM.
pub struct Registry {
    pidfile: PathBuf,
    stop: Arc<AtomicBool>,
}

impl Registry {
    pub fn new(pidfile: &Path) -> Result<Registry> {
        let stop = Arc::new(AtomicBool::new(false));
        for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
            signal_hook::flag::register(sig, stop.clone()).context("signal handler")?;
        }
        std::fs::OpenOptions::new().create(true).append(true).open(pidfile)?;
        Ok(Registry { pidfile: pidfile.to_path_buf(), stop })
    }

    /// A stop was requested (signal): every wait gives up.
    pub fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    pub fn check(&self) -> Result<()> {
        if self.stopped() {
            bail!("interrupted");
        }
        Ok(())
    }

    /// Sleep up to `d`, waking early on a stop request.
    pub fn sleep(&self, d: Duration) -> Result<()> {
        let t0 = Instant::now();
        while t0.elapsed() < d {
            self.check()?;
            std::thread::sleep((d - t0.elapsed()).min(Duration::from_millis(20)));
        }
        self.check()
    }

    /// Start `cmd` with stdout and stderr in `log`, stdin closed.
    pub fn spawn(&self, name: &str, cmd: &mut Command, log: &Path) -> Result<Proc> {
        self.check()?;
        let f = std::fs::File::create(log).with_context(|| format!("{}", log.display()))?;
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::from(f.try_clone()?))
            .stderr(Stdio::from(f))
            .spawn()
            .with_context(|| format!("cannot start {name} ({cmd:?})"))?;
        let mut pf = std::fs::OpenOptions::new().append(true).open(&self.pidfile)?;
        writeln!(pf, "{}", child.id())?;
        Ok(Proc { name: name.to_string(), child, log: log.to_path_buf() })
    }
}

/// A running child process.
pub struct Proc {
    pub name: String,
    child: Child,
    log: PathBuf,
}

impl Proc {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn output(&self) -> String {
        std::fs::read(&self.log).map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default()
    }

    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Wait until the log contains `needle`; fail if the process exits,
    /// `timeout` passes or a stop is requested.
    pub fn wait_for(&mut self, reg: &Registry, needle: &str, timeout: Duration) -> Result<()> {
        let t0 = Instant::now();
        loop {
            if self.output().contains(needle) {
                return Ok(());
            }
            if !self.alive() {
                bail!("{} exited before '{needle}':\n{}", self.name, tail(&self.output(), 40));
            }
            if t0.elapsed() > timeout {
                bail!("{} did not print '{needle}' within {timeout:?}:\n{}", self.name, tail(&self.output(), 40));
            }
            reg.check()?;
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Wait for the process to exit by itself; None on timeout.
    pub fn wait_exit(&mut self, reg: &Registry, timeout: Duration) -> Result<Option<i32>> {
        let t0 = Instant::now();
        loop {
            if let Some(st) = self.child.try_wait()? {
                return Ok(Some(st.code().unwrap_or(-1)));
            }
            if t0.elapsed() > timeout {
                return Ok(None);
            }
            reg.check()?;
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Resident memory (VmRSS) in bytes.
    pub fn rss(&self) -> Option<u64> {
        rss_of(self.pid())
    }

    /// SIGTERM, wait up to `grace`, then SIGKILL. Returns (exit code, log).
    pub fn stop(mut self, grace: Duration) -> (Option<i32>, String) {
        if self.alive() {
            let _ = Command::new("kill").arg("-TERM").arg(self.pid().to_string()).status();
            let t0 = Instant::now();
            while self.alive() && t0.elapsed() < grace {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let code = match self.child.try_wait() {
            Ok(Some(st)) => st.code(),
            _ => {
                let _ = self.child.kill();
                let _ = self.child.wait();
                None
            }
        };
        (code, self.output())
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if self.alive() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// VmRSS of a process, bytes.
pub fn rss_of(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let l = s.lines().find(|l| l.starts_with("VmRSS:"))?;
    l.split_whitespace().nth(1)?.parse::<u64>().ok().map(|kb| kb * 1024)
}

/// The last `n` lines of `s`.
pub fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
