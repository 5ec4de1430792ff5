//! Giving back the pages of berth's own code that start-up touched.
//!
//! The binary holds everything berth does (the web UI's server side, the
//! CLI, the agent), and a process's RSS counts each page of it that the
//! process has touched, with the pages around them that the kernel maps in
//! the same fault. Start-up code (reading the configuration, loading keys,
//! the first handshakes) runs once, yet its pages stay counted for the
//! process's life. `release` asks the kernel to take back the pages of the
//! executable's mappings (`MADV_PAGEOUT`): the code still in use comes back
//! at its next use, read from the file again, and nothing else does.
//!
//! `cargo bench -p berth-server --bench agent` measured the agent (a copy
//! of the binary of its own, as on its own server; 50 containers): 16.2 MiB
//! at its peak before, 10.8 MiB after (3.0 MiB its own memory, 7.8 MiB the
//! binary's pages); a core with five agent hosts, idle: 24.0 MiB, against
//! 28.2 before (with redb's cache then at 8 MiB in both).
//!
//! The kernel leaves alone the pages another process maps too (another
//! berth of the same file), and the file's pages altogether unless the
//! process could write the file (root, or the binary's owner). Linux 5.4
//! or later; elsewhere, or when refused, nothing changes.

use std::time::Duration;

/// When a server or agent gives back the pages of code it no longer runs:
/// a minute in, when its first peers have connected and collected (a core
/// retries its agents every few seconds), and again later, for a peer that
/// came late.
pub const AFTER_START: [Duration; 2] = [Duration::from_secs(60), Duration::from_secs(600)];

/// Releases the executable's pages after each delay (from now).
pub fn release_after(delays: &'static [Duration], task: &'static str) {
    tokio::spawn(async move {
        let started = tokio::time::Instant::now();
        for delay in delays {
            tokio::time::sleep_until(started + *delay).await;
            match tokio::task::spawn_blocking(release).await {
                Ok(Ok(bytes)) => tracing::debug!(task, mib = bytes >> 20, "code pages given back"),
                Ok(Err(e)) => {
                    tracing::debug!(task, error = %e, "code pages not given back");
                    return;
                }
                Err(_) => return,
            }
        }
    });
}

/// Advises the kernel to page out the executable's mappings; the bytes
/// advised.
#[cfg(target_os = "linux")]
pub fn release() -> std::io::Result<usize> {
    let exe = std::fs::read_link("/proc/self/exe")?;
    let exe = exe.to_string_lossy();
    let maps = std::fs::read_to_string("/proc/self/maps")?;
    let mut advised = 0;
    for (start, end) in executable_ranges(&maps, &exe) {
        // SAFETY: MADV_PAGEOUT only moves pages out of memory; their
        // contents stay the same (file pages are read again on use), so no
        // mapping of this process changes what it reads.
        let done = unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_PAGEOUT) };
        if done != 0 {
            return Err(std::io::Error::last_os_error());
        }
        advised += end - start;
    }
    Ok(advised)
}

#[cfg(not(target_os = "linux"))]
pub fn release() -> std::io::Result<usize> {
    Err(std::io::Error::other("only on Linux"))
}

/// The address ranges of `/proc/self/maps` that map the file `exe`.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn executable_ranges(maps: &str, exe: &str) -> Vec<(usize, usize)> {
    maps.lines()
        .filter_map(|line| {
            // start-end perms offset dev inode path (the path may hold spaces)
            let mut fields = line.splitn(6, ' ');
            let range = fields.next()?;
            let path = fields.nth(4)?.trim_start();
            if path != exe {
                return None;
            }
            let (start, end) = range.split_once('-')?;
            let start = usize::from_str_radix(start, 16).ok()?;
            let end = usize::from_str_radix(end, 16).ok()?;
            (end > start).then_some((start, end))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_executables_mappings_are_taken() {
        let maps = "\
55d0c0000000-55d0c1000000 r--p 00000000 fd:01 1234 /usr/local/bin/berth
55d0c1000000-55d0c3000000 r-xp 01000000 fd:01 1234 /usr/local/bin/berth
55d0c4000000-55d0c4100000 rw-p 00000000 00:00 0 [heap]
7f0000000000-7f0000100000 r-xp 00000000 fd:01 99 /usr/lib/x86_64-linux-gnu/libc.so.6
7f0000200000-7f0000300000 r--p 00000000 fd:01 77 /usr/local/bin/berth (deleted)
7f0000300000-7f0000400000 r--p 00000000 fd:01 78 /opt/my tools/berth
";
        assert_eq!(
            executable_ranges(maps, "/usr/local/bin/berth"),
            [(0x55d0c0000000, 0x55d0c1000000), (0x55d0c1000000, 0x55d0c3000000)]
        );
        assert_eq!(
            executable_ranges(maps, "/opt/my tools/berth"),
            [(0x7f0000300000, 0x7f0000400000)],
            "paths with spaces"
        );
    }

    /// The call itself works on this machine's kernel (or says why not);
    /// the process goes on reading its code either way.
    #[cfg(target_os = "linux")]
    #[test]
    fn releasing_leaves_the_process_running() {
        match release() {
            Ok(bytes) => assert!(bytes > 0, "the test binary maps itself"),
            Err(e) => eprintln!("not released here: {e}"),
        }
        assert_eq!(executable_ranges("", "x"), []);
    }
}
