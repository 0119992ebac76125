//! Errors of rvsadm, worded like ipvsadm's so that operators (and scripts
//! that grep stderr) recognise them.

use serde::{Deserialize, Serialize};

/// Everything that can go wrong between argv and an edited model.
///
/// Serializable because rvsd applies the commands and sends the error
/// back to rvsadm over the control socket. The variants that stand for a
/// kernel errno in ipvsadm carry libipvs' exact text (`ipvs_strerror`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum AdmError {
    /// The command line is wrong (ipvsadm's `fail(2, ...)` messages).
    #[error("{0}")]
    Usage(String),
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
    /// The edit would leave an invalid service (`ServiceConf::validate`,
    /// or an rvs rule such as overlapping fwmark matches). IPVS answers
    /// EINVAL ("Invalid operation") here; we say what is wrong instead.
    #[error("{0}")]
    Invalid(String),
    /// An error on one line of `-R` input (1-based line number).
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

    /// The process exit status ipvsadm uses for this kind of error:
    /// 2 for a bad command line (`fail(2, ...)`), 255 for a refused
    /// operation (ipvsadm's `main` returns -1).
    pub fn exit_code(&self) -> i32 {
        match self {
            AdmError::Usage(_) => 2,
            AdmError::Line { error, .. } => error.exit_code(),
            _ => 255,
        }
    }
}
