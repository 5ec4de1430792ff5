//! Giving back the pages of berth's own code that start-up touched.
//!
//! The binary holds everything berth does (the web UI's server side, the
//! CLI, the agent), and a process's RSS counts each page of it that the
//! process has touched, with the pages around them that the kernel maps in
//! the same fault. Start-up code (reading the configuration, loading keys,
//! the first handshakes) runs once, yet its pages stay counted for the
//! process's life. `release` asks the kernel to take back the pages of the
//! executable's mappings (`MADV_PAGEOUT`): the code still in use comes back
//! at its next use, read from the file again. Mappings holding pages of the
//! process's own (the loader's relocations) are left out: those would go to
//! swap, not back to the file.
//!
//! `cargo bench -p berth-server --bench agent` measured the agent (a copy
//! of the binary of its own, as on its own server; 50 containers): 14.7 MiB
//! at its peak before, 11.0 MiB after (3.1 MiB its own memory, 8.0 MiB the
//! binary's pages; 14.9 MiB without the release); a core with five agent
//! hosts, idle: 24.0 MiB against 28.2 without (redb's cache at 8 MiB in
//! both).
//!
//! The kernel leaves alone the pages another process maps too (another
//! berth of the same file), and the file's pages altogether unless the
//! process could write the file (root, or the binary's owner). Linux 5.4
//! or later; elsewhere, or when refused, nothing changes.

use berth_core::tasks::Stop;
use std::time::Duration;

/// When a server or agent gives back the pages of code it no longer runs:
/// a minute in, when its first peers have connected and collected (a core
/// retries its agents every few seconds), and again later, for a peer that
/// came late.
pub const AFTER_START: [Duration; 2] = [Duration::from_secs(60), Duration::from_secs(600)];

/// Releases the executable's pages after each delay (from now), until
/// `stop`: a task (`code-pages`) of the service that starts it.
pub async fn release_after(delays: &'static [Duration], mut stop: Stop) {
    let task = "code-pages";
    tracing::debug!(task, "started");
    let started = tokio::time::Instant::now();
    for delay in delays {
        tokio::select! {
            _ = tokio::time::sleep_until(started + *delay) => {}
            _ = stop.changed() => break,
        }
        match tokio::task::spawn_blocking(release).await {
            Ok(Ok(bytes)) => tracing::debug!(task, mib = bytes >> 20, "code pages given back"),
            Ok(Err(e)) => {
                tracing::debug!(task, error = %e, "code pages not given back");
                break;
            }
            Err(e) => {
                tracing::error!(task, error = %e, "giving back code pages failed");
                break;
            }
        }
    }
    tracing::debug!(task, "stopped");
}

/// Advises the kernel to page out the executable's mappings; the bytes
/// advised.
#[cfg(target_os = "linux")]
pub fn release() -> std::io::Result<usize> {
    let exe = std::fs::read_link("/proc/self/exe")?;
    let exe = exe.to_string_lossy();
    let smaps = std::fs::read_to_string("/proc/self/smaps")?;
    let mut advised = 0;
    for (start, end) in executable_ranges(&smaps, &exe) {
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

/// The address ranges of `/proc/self/smaps` that map the file `exe` and
/// hold none of the process's own pages (`Anonymous: 0 kB`). A mapping
/// the loader wrote to (relocations) holds copies of its own, which
/// paging out would send to swap; those stay.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn executable_ranges(smaps: &str, exe: &str) -> Vec<(usize, usize)> {
    let mut ranges = Vec::new();
    let mut current: Option<(usize, usize)> = None;
    for line in smaps.lines() {
        if let Some(kb) = line.strip_prefix("Anonymous:") {
            let own = kb.trim().trim_end_matches("kB").trim() != "0";
            if let Some(range) = current.take()
                && !own
            {
                ranges.push(range);
            }
            continue;
        }
        // A mapping's first line: start-end perms offset dev inode path
        // (the path may hold spaces); the fields that follow are `Key: value`.
        let mut fields = line.splitn(6, ' ');
        let Some((start, end)) = fields.next().and_then(|r| r.split_once('-')) else {
            continue;
        };
        let (Ok(start), Ok(end)) = (usize::from_str_radix(start, 16), usize::from_str_radix(end, 16)) else {
            continue;
        };
        let path = fields.nth(4).map(str::trim_start);
        current = (path == Some(exe) && end > start).then_some((start, end));
    }
    ranges
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_executables_untouched_file_pages_are_taken() {
        let smaps = "\
55d0c0000000-55d0c1000000 r--p 00000000 fd:01 1234 /usr/local/bin/berth
Size:              16384 kB
Anonymous:             0 kB
55d0c1000000-55d0c3000000 r-xp 01000000 fd:01 1234 /usr/local/bin/berth
Size:              32768 kB
Rss:                8000 kB
Anonymous:             0 kB
VmFlags: rd ex mr mw me
55d0c3000000-55d0c3100000 r--p 03000000 fd:01 1234 /usr/local/bin/berth
Anonymous:           120 kB
55d0c4000000-55d0c4100000 rw-p 00000000 00:00 0                          [heap]
Anonymous:           900 kB
7f0000000000-7f0000100000 r-xp 00000000 fd:01 99                         /usr/lib/x86_64-linux-gnu/libc.so.6
Anonymous:             0 kB
7f0000200000-7f0000300000 r--p 00000000 fd:01 77 /usr/local/bin/berth (deleted)
Anonymous:             0 kB
7f0000300000-7f0000400000 r--p 00000000 fd:01 78                         /opt/my tools/berth
Anonymous:             0 kB
";
        assert_eq!(
            executable_ranges(smaps, "/usr/local/bin/berth"),
            [(0x55d0c0000000, 0x55d0c1000000), (0x55d0c1000000, 0x55d0c3000000)],
            "not the relocated part (pages of its own), not libc, not a deleted file"
        );
        assert_eq!(
            executable_ranges(smaps, "/opt/my tools/berth"),
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
