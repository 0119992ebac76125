//! keepalived `MISC_CHECK`: a command's exit status says whether the
//! dest is alive.
//!
//! The command runs under `/bin/sh -c` with the dest in its environment
//! and nothing on stdin; its output goes to rvsd's log only as the exit
//! status. Past the deadline the shell is killed (by the PID we started)
//! and the check fails as a timeout.

use super::super::state::{Failure, Outcome};
use super::Deadline;
use std::net::IpAddr;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::time::Duration;

/// How often a running command is looked at.
const POLL: Duration = Duration::from_millis(10);

pub fn run(command: &str, dest: (IpAddr, u16), dl: &Deadline) -> Outcome {
    let mut child = Command::new("/bin/sh")
        .arg("-c")
        .arg(command)
        .env("RVS_DEST_ADDR", dest.0.to_string())
        .env("RVS_DEST_PORT", dest.1.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| Failure::Error(format!("cannot run /bin/sh: {e}")))?;
    loop {
        match child.try_wait() {
            Ok(Some(st)) => {
                return match st.code() {
                    Some(0) => Ok(()),
                    Some(c) => Err(Failure::Exit(c)),
                    None if st.signal().is_some() => Err(Failure::Signal),
                    None => Err(Failure::Error(format!("{st}"))),
                };
            }
            Ok(None) => {}
            Err(e) => return Err(Failure::Error(format!("waiting for the command: {e}"))),
        }
        if dl.left().is_err() {
            let _ = child.kill();
            let _ = child.wait();
            return Err(Failure::Timeout);
        }
        std::thread::sleep(POLL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn dl(ms: u64) -> Deadline {
        Deadline::after(Duration::from_millis(ms))
    }

    const DEST: (IpAddr, u16) = (IpAddr::V4(std::net::Ipv4Addr::new(192, 168, 0, 10)), 80);

    #[test]
    fn exit_status_and_environment() {
        assert_eq!(run("true", DEST, &dl(2000)), Ok(()));
        assert_eq!(run("exit 3", DEST, &dl(2000)), Err(Failure::Exit(3)));
        let env = r#"test "$RVS_DEST_ADDR:$RVS_DEST_PORT" = 192.168.0.10:80"#;
        assert_eq!(run(env, DEST, &dl(2000)), Ok(()));
        assert_eq!(run("kill -9 $$", DEST, &dl(2000)), Err(Failure::Signal));
    }

    #[test]
    fn a_slow_command_is_killed_at_the_timeout() {
        let t0 = Instant::now();
        assert_eq!(run("exec sleep 5", DEST, &dl(200)), Err(Failure::Timeout));
        assert!(t0.elapsed() < Duration::from_secs(2), "{:?}", t0.elapsed());
    }
}
