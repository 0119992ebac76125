//! Errors of rvsadm, worded like ipvsadm's so that operators (and scripts
//! that grep stderr) recognise them.
//!
//! Each error has two parts: [`AdmError::text`], exactly what ipvsadm
//! 1.31 prints for the same mistake, and [`AdmError::detail`], what rvs
//! can add (which value, which rule, which `-R` line). rvsadm prints the
//! text; the detail only under `--verbose`, on a line of its own, so that
//! scripts which compare stderr with ipvsadm's keep working.

use serde::{Deserialize, Serialize};

/// Everything that can go wrong between argv and an edited model.
///
/// Serializable because rvsd applies the commands and sends the error
/// back to rvsadm over the control socket. The variants that stand for a
/// kernel errno in ipvsadm carry libipvs' exact text (`ipvs_strerror`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum AdmError {
    /// The command line is wrong (ipvsadm's `fail(2, ...)` messages).
    /// The first line is ipvsadm's text; what follows a newline is rvs's
    /// detail.
    #[error("{}", .0.replace('\n', ": "))]
    Usage(String),
    /// popt could not read an option after the command (`-L --bogus`,
    /// `-A -t`): ipvsadm prints `OPTION: popt's message` and exits 255.
    #[error("{0}")]
    Popt(String),
    /// The first option is not a command, or popt could not read it:
    /// ipvsadm prints only its "Try `ipvsadm -h'" line and exits 255.
    #[error("{}", try_help("rvsadm"))]
    TryHelp,
    /// `-6` before (or without) `-f`. ipvsadm's message ends in a
    /// newline of its own, so it prints an empty line after it.
    #[error("-6 used before -f\n")]
    SixBeforeF,
    /// `--start-daemon` of a role that runs (EEXIST).
    #[error("Daemon has already run")]
    DaemonRunning,
    /// `--stop-daemon` of a role that does not run (ESRCH).
    #[error("No daemon is running")]
    NoDaemon,
    /// `--mcast-interface` names no interface of rvsd's (ENODEV, which
    /// libipvs leaves to strerror).
    #[error("No such device")]
    NoDevice(String),
    /// `-A`/`-E` with a scheduler IPVS does not have (ENOENT from the
    /// kernel, so it only shows once the service check passed). Carries
    /// the name.
    #[error("Scheduler or persistence engine not found")]
    NoScheduler(String),
    /// `-A` of a service that is already in the table (EEXIST).
    #[error("Service already exists")]
    ServiceExists,
    /// `-E`, `-D`, `-Z` or `-L` of a service that is not there (ESRCH).
    #[error("No such service")]
    NoSuchService,
    /// `-a`, `-e`, `-d` on a service that is not there (ESRCH).
    #[error("Service not defined")]
    ServiceNotDefined,
    /// `-a` of a real server the service already has (EEXIST).
    #[error("Destination already exists")]
    DestExists,
    /// `-e`, `-d` of a real server the service does not have (ENOENT).
    #[error("No such destination")]
    NoSuchDest,
    /// `-a` of a real server IPVS does not take (EINVAL from
    /// `ip_vs_new_dest`: not a unicast address), with libipvs' text for
    /// EINVAL, two spaces included.
    #[error("Invalid operation.  Possibly wrong module version, address not unicast, ...")]
    InvalidOperation,
    /// `-a`/`-e` with a lower threshold above the upper one, `-y` without
    /// `-x` included (ERANGE from `ip_vs_add_dest`/`ip_vs_edit_dest`;
    /// libipvs has no text of its own, so ipvsadm prints strerror's).
    #[error("Numerical result out of range")]
    OutOfRange,
    /// The edit would leave a service the data path cannot honour
    /// (`ServiceConf::validate`, or an rvs rule such as overlapping
    /// fwmark matches). Printed as IPVS's EINVAL text; the string says
    /// what is wrong (the detail).
    #[error("{0}")]
    Invalid(String),
    /// An error on one line of `-R` input (1-based line number, which
    /// ipvsadm does not print: it is part of the detail).
    #[error("line {line}: {error}")]
    Line { line: usize, error: Box<AdmError> },
}

impl AdmError {
    pub(crate) fn usage(msg: impl Into<String>) -> Self {
        AdmError::Usage(msg.into())
    }

    /// Attach a `-R` line number (idempotent: keeps an inner number).
    pub fn at_line(self, line: usize) -> Self {
        match self {
            e @ AdmError::Line { .. } => e,
            e => AdmError::Line { line, error: Box::new(e) },
        }
    }

    /// The line number, for errors that came from `-R` input.
    pub fn line(&self) -> Option<usize> {
        match self {
            AdmError::Line { line, .. } => Some(*line),
            _ => None,
        }
    }

    /// What ipvsadm prints for this error (without the newline); `prog`
    /// is how rvsadm was called, for the "Try" line.
    pub fn text(&self, prog: &str) -> String {
        match self {
            AdmError::Usage(s) => s.split('\n').next().unwrap_or_default().to_string(),
            AdmError::TryHelp => try_help(prog),
            AdmError::Invalid(_) => AdmError::InvalidOperation.to_string(),
            AdmError::Line { error, .. } => error.text(prog),
            e => e.to_string(),
        }
    }

    /// What rvs adds to ipvsadm's text, if anything (`--verbose`).
    pub fn detail(&self) -> Option<String> {
        match self {
            AdmError::Usage(s) => s.split_once('\n').map(|(_, d)| d.replace('\n', "; ")),
            AdmError::NoScheduler(name) => Some(format!(
                "no scheduler or persistence engine '{name}' (schedulers: {})",
                rvs_conf::SchedKind::valid_list()
            )),
            AdmError::Invalid(s) => Some(s.clone()),
            AdmError::NoDevice(i) => Some(format!("rvsd has no interface '{i}' (the interfaces: of its YAML file)")),
            AdmError::Line { line, error } => Some(match error.detail() {
                Some(d) => format!("-R input line {line}: {d}"),
                None => format!("-R input line {line}"),
            }),
            _ => None,
        }
    }

    /// The process exit status ipvsadm uses for this kind of error:
    /// 2 for a bad command line (`fail(2, ...)`), 255 for a popt error
    /// or a refused operation (ipvsadm's `main` returns -1).
    pub fn exit_code(&self) -> i32 {
        match self {
            AdmError::Usage(_) | AdmError::SixBeforeF => 2,
            AdmError::Line { error, .. } => error.exit_code(),
            _ => 255,
        }
    }
}

/// ipvsadm's `tryhelp_exit` line.
pub fn try_help(prog: &str) -> String {
    format!("Try `{prog} -h' or '{prog} --help' for more information.")
}
