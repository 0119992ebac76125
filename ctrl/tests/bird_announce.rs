//! The announcer against a real BIRD 2 (Debian's `bird2`), run in a
//! network namespace of its own: VIPs become static routes in BIRD's
//! table when announced, leave it when withdrawn, and the shutdown
//! withdrawal reaches BIRD. Needs root (`ip netns`) and `bird`; fails
//! loudly without them.

use rvs_conf::AnnounceConf;
use rvs_ctrl::announce::Announcer;
use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Bird {
    ns: String,
    dir: PathBuf,
    child: Option<Child>,
}

impl Bird {
    fn new() -> Bird {
        assert!(
            Command::new("id").arg("-u").output().map(|o| o.stdout == b"0\n").unwrap_or(false),
            "this test needs root (ip netns)"
        );
        assert!(Path::new("/usr/sbin/bird").exists(), "this test needs BIRD 2 (/usr/sbin/bird): run scripts/setup.sh");
        let ns = format!("rvsbird{}", std::process::id());
        let dir = std::env::temp_dir().join(&ns);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        assert!(Command::new("ip").args(["netns", "add", &ns]).status().unwrap().success(), "ip netns add {ns}");
        let include = dir.join("vips.conf");
        std::fs::write(&include, rvs_ctrl::announce::bird::include_text(&BTreeSet::new())).unwrap();
        let conf = format!("router id 10.255.255.1;\nprotocol device {{}}\ninclude \"{}\";\n", include.display());
        std::fs::write(dir.join("bird.conf"), conf).unwrap();
        Bird { ns, dir, child: None }
    }

    fn socket(&self) -> PathBuf {
        self.dir.join("bird.ctl")
    }

    fn start(&mut self) {
        let d = &self.dir;
        let child = Command::new("ip")
            .args(["netns", "exec", &self.ns, "bird", "-f", "-c"])
            .arg(d.join("bird.conf"))
            .arg("-s")
            .arg(self.socket())
            .arg("-P")
            .arg(d.join("bird.pid"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start bird");
        self.child = Some(child);
    }

    /// The prefixes in BIRD's tables, by `birdc show route`.
    fn routes(&self) -> String {
        let out = Command::new("birdc").arg("-s").arg(self.socket()).args(["show", "route"]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn wait_routes(&self, what: &str, ok: impl Fn(&str) -> bool) {
        let t0 = Instant::now();
        loop {
            let r = self.routes();
            if ok(&r) {
                return;
            }
            assert!(t0.elapsed() < Duration::from_secs(10), "{what}; BIRD has:\n{r}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Bird {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        // `ip netns exec` execs bird, so the child's PID is bird's; the
        // pid file names it too should it have forked.
        if let Ok(p) = std::fs::read_to_string(self.dir.join("bird.pid")) {
            if let Ok(pid) = p.trim().parse::<i32>() {
                let _ = Command::new("kill").arg(pid.to_string()).stderr(Stdio::null()).status();
            }
        }
        let _ = Command::new("ip").args(["netns", "del", &self.ns]).status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn set(addrs: &[&str]) -> BTreeSet<IpAddr> {
    addrs.iter().map(|a| a.parse().unwrap()).collect()
}

#[test]
fn vips_reach_bird_and_leave_it() {
    let mut bird = Bird::new();
    let conf = AnnounceConf { bird_socket: bird.socket(), bird_include: bird.dir.join("vips.conf") };
    // The announcer starts first: it retries until BIRD is there.
    let a = Announcer::start(conf).unwrap();
    a.set(set(&["192.168.0.200", "2001:db8:1::200"]));
    std::thread::sleep(Duration::from_millis(300));
    bird.start();
    bird.wait_routes("both VIPs announced", |r| {
        r.contains("192.168.0.200/32") && r.contains("2001:db8:1::200/128") && r.contains("rvs_vips")
    });
    a.set(set(&["2001:db8:1::200", "10.0.0.7"]));
    bird.wait_routes("192.168.0.200 withdrawn, 10.0.0.7 announced", |r| {
        !r.contains("192.168.0.200/32") && r.contains("10.0.0.7/32") && r.contains("2001:db8:1::200/128")
    });
    assert!(a.stop(Duration::from_secs(5)), "the withdrawal reached BIRD");
    let r = bird.routes();
    assert!(!r.contains("10.0.0.7/32") && !r.contains("2001:db8:1::200/128"), "all withdrawn; BIRD has:\n{r}");
    // BIRD still runs and answers.
    assert!(Command::new("birdc").arg("-s").arg(bird.socket()).arg("show status").output().unwrap().status.success());
}
