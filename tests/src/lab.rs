//! The netns lab from Rust: `scripts/lab.sh` behind a guard that always
//! tears down, plus helpers to run commands (curl, ping) in namespaces.

use crate::counters::{self, Counters};
use std::process::{Command, Output};
use std::sync::{Mutex, MutexGuard};

/// Labs share the machine's two cores: run one at a time per test binary.
static LAB_LOCK: Mutex<()> = Mutex::new(());

pub struct Lab {
    pub id: String,
    down: bool,
    /// `tx_full` counted while `lab.sh up` ran. Until the script has
    /// moved a tap into its peer namespace and set it up, the kernel side
    /// is down and net_tap's writev fails with EIO (seen with `perf trace`
    /// on an unsolicited Neighbour Advertisement rvsd sends at start); the
    /// data path can only see a transmit the device did not take. Those
    /// are the lab's doing, not the test's, and are subtracted.
    startup_tx_full: u64,
    _lock: MutexGuard<'static, ()>,
}

fn lab_sh() -> std::path::PathBuf {
    crate::root().join("scripts/lab.sh")
}

impl Lab {
    /// Bring a lab up: `mode` nat|fullnat|dr|tun, `services` a YAML file
    /// with a `services:` section, or None for the mode's default.
    pub fn up(id: &str, mode: &str, workers: u32, services: Option<&str>) -> Lab {
        Lab::up_with(id, mode, workers, services, &[])
    }

    /// [`Lab::up`] with extra `lab.sh up` flags (`--ipv6`).
    pub fn up_with(id: &str, mode: &str, workers: u32, services: Option<&str>, extra: &[&str]) -> Lab {
        crate::require_root();
        let lock = LAB_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let mut c = Command::new(lab_sh());
        c.args(["up", "--id", id, "--mode", mode, "--workers", &workers.to_string()]);
        if let Some(s) = services {
            c.args(["--services", s]);
        }
        c.args(extra);
        let mut lab = Lab { id: id.to_string(), down: false, startup_tx_full: 0, _lock: lock };
        let out = c.output().expect("run lab.sh");
        assert!(
            out.status.success(),
            "lab.sh up {extra:?} failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        lab.startup_tx_full = counters::live(&lab.socket()).drop("tx_full");
        lab
    }

    pub fn state_dir(&self) -> std::path::PathBuf {
        std::path::PathBuf::from(format!("/tmp/rvs-lab-{}", self.id))
    }

    /// Run a command in namespace `rvs<ID>-<ns>`.
    pub fn exec(&self, ns: &str, args: &[&str]) -> Output {
        crate::netns_exec(&format!("rvs{}-{ns}", self.id), args)
    }

    /// Run and return stdout, asserting success.
    pub fn sh(&self, ns: &str, args: &[&str]) -> String {
        crate::netns_sh(&format!("rvs{}-{ns}", self.id), args, || format!("rvsd log:\n{}", self.rvsd_log()))
    }

    /// curl from the client namespace; body as text.
    pub fn curl(&self, url: &str) -> String {
        self.sh("cli", &["curl", "-sS", "--max-time", "10", url])
    }

    /// rvsd's control socket.
    pub fn socket(&self) -> std::path::PathBuf {
        self.state_dir().join("rvsd.sock")
    }

    /// The live counters (`rvsadm --workers --json`), strictly parsed.
    pub fn counters(&self) -> Counters {
        counters::live(&self.socket())
    }

    /// Wait until traffic has settled (mempool at baseline, rx still) and
    /// return the live counters then.
    pub fn settled(&self) -> Counters {
        let mut c = counters::settled(&self.socket(), std::time::Duration::from_secs(10));
        c.forgive("tx_full", self.startup_tx_full);
        c
    }

    /// Tear down and return rvsd's final counters (strictly parsed) and
    /// its log. The final mempool line must show every mbuf returned.
    pub fn down_counters(self) -> (Counters, String) {
        let startup_tx_full = self.startup_tx_full;
        let log = self.down();
        let mut c = counters::final_counters(&log);
        c.forgive("tx_full", startup_tx_full);
        assert!(c.mempool_at_baseline(), "mbuf leak at shutdown:\n{log}");
        (c, log)
    }

    pub fn rvsd_log(&self) -> String {
        std::fs::read_to_string(self.state_dir().join("rvsd.log")).unwrap_or_default()
    }

    /// Tear down (stopping rvsd) and return its log with final counters.
    pub fn down(mut self) -> String {
        self.teardown();
        self.rvsd_log()
    }

    fn teardown(&mut self) {
        if self.down {
            return;
        }
        self.down = true;
        let out = Command::new(lab_sh()).args(["down", "--id", &self.id]).output().expect("lab.sh down");
        assert!(out.status.success(), "lab.sh down failed: {}", String::from_utf8_lossy(&out.stderr));
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if !self.down {
            self.down = true;
            let _ = Command::new(lab_sh()).args(["down", "--id", &self.id]).output();
        }
    }
}
