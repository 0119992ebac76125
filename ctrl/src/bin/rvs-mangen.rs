//! Write the man pages `rvsd.8` and `rvsadm.8` into a directory (the
//! package build runs this; see scripts/package.sh).

#![forbid(unsafe_code)]

use std::path::PathBuf;

fn main() {
    let dir = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "target/man".into()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    type Render = fn(&mut dyn std::io::Write) -> std::io::Result<()>;
    let pages: [(&str, Render); 2] =
        [("rvsd.8", rvs_ctrl::daemon::manual::render), ("rvsadm.8", rvs_ctrl::adm::manual::render)];
    for (name, render) in pages {
        let path = dir.join(name);
        let mut f = std::fs::File::create(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        render(&mut f).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        println!("{}", path.display());
    }
}
