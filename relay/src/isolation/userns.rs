//! An ordinary user's isolated relay (`--isolate-sessions` without root): the relay process
//! moves, once, at start, into a Linux user namespace of its own, where it is uid 0 with the
//! capabilities of that namespace, so it may make a network namespace per session (which that
//! user namespace then owns: CAP_NET_RAW for the capture there too). Outside, it stays the user
//! who started it: it gets no privilege over the machine, its files are that user's, and the
//! machine's own network is as closed to it as before.
//!
//! The kernel lets only a single-threaded process do this, so `main` calls [`enter`] before the
//! tokio runtime starts. Where the kernel refuses (Ubuntu's AppArmor restriction, a sysctl that
//! turns unprivileged user namespaces off), the error names the setting, and the relay does not
//! start with the flag.

use std::io;
use std::sync::OnceLock;

/// The user the relay was started as, when it entered a user namespace of its own.
static OUTSIDE: OnceLock<(u32, u32)> = OnceLock::new();

/// The uid and gid the relay runs as outside its user namespace, if it entered one.
pub(crate) fn outside() -> Option<(u32, u32)> {
    OUTSIDE.get().copied()
}

/// Moves this (single-threaded) process into a new user namespace in which it is uid and gid
/// 0, mapped to the user who started it. The error says what refused it and what would allow
/// it.
pub(crate) fn enter() -> Result<(), String> {
    let uid = nix::unistd::geteuid().as_raw();
    let gid = nix::unistd::getegid().as_raw();
    if let Err(errno) = nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWUSER) {
        return Err(refused(&io::Error::from(errno)));
    }
    let map = |file: &str, text: String| {
        std::fs::write(format!("/proc/self/{file}"), text).map_err(|err| {
            format!("cannot write /proc/self/{file} in the new user namespace: {err}")
        })
    };
    // A process without CAP_SETGID may write its gid_map only once setgroups is denied.
    map("setgroups", "deny".into())?;
    map("uid_map", format!("0 {uid} 1"))?;
    map("gid_map", format!("0 {gid} 1"))?;
    let _ = OUTSIDE.set((uid, gid));
    Ok(())
}

/// Why the kernel refused a user namespace, naming the setting in the way where one is.
fn refused(err: &io::Error) -> String {
    let read = |path: &str| {
        std::fs::read_to_string(path)
            .ok()
            .map(|text| text.trim().to_owned())
    };
    reason(
        err,
        read("/proc/sys/kernel/apparmor_restrict_unprivileged_userns").as_deref(),
        read("/proc/sys/kernel/unprivileged_userns_clone").as_deref(),
        read("/proc/sys/user/max_user_namespaces").as_deref(),
    )
}

/// The reason, from the three settings that can refuse an unprivileged user namespace (each
/// as its file reads, `None` where the kernel has no such file).
fn reason(
    err: &io::Error,
    apparmor_restrict: Option<&str>,
    userns_clone: Option<&str>,
    max_user_namespaces: Option<&str>,
) -> String {
    let setting = if apparmor_restrict == Some("1") {
        Some(
            "Ubuntu's AppArmor restricts unprivileged user namespaces \
             (kernel.apparmor_restrict_unprivileged_userns = 1): run the relay as root, or give \
             it an AppArmor profile that allows userns",
        )
    } else if userns_clone == Some("0") {
        Some(
            "unprivileged user namespaces are off (kernel.unprivileged_userns_clone = 0): run \
             the relay as root, or set that sysctl to 1",
        )
    } else if max_user_namespaces == Some("0") {
        Some(
            "user namespaces are off (user.max_user_namespaces = 0): run the relay as root, or \
             raise that sysctl",
        )
    } else {
        None
    };
    match setting {
        Some(setting) => format!("the kernel refused a user namespace ({err}): {setting}"),
        None => format!(
            "the kernel refused a user namespace ({err}), which an ordinary user's relay needs \
             to isolate sessions: run it as root"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_user_namespace_names_the_setting_in_the_way() {
        let eperm = io::Error::from_raw_os_error(libc::EPERM);
        let ubuntu = reason(&eperm, Some("1"), None, Some("63536"));
        assert!(
            ubuntu.contains("kernel.apparmor_restrict_unprivileged_userns = 1"),
            "{ubuntu}"
        );
        let debian = reason(&eperm, None, Some("0"), Some("63536"));
        assert!(
            debian.contains("kernel.unprivileged_userns_clone = 0"),
            "{debian}"
        );
        let none = reason(&eperm, Some("0"), Some("1"), Some("0"));
        assert!(none.contains("user.max_user_namespaces = 0"), "{none}");
        let other = reason(&eperm, Some("0"), Some("1"), Some("63536"));
        assert!(other.contains("run it as root"), "{other}");
        assert!(other.contains("Operation not permitted"), "{other}");
    }
}
