//! Reads the machine this process runs on through sysinfo: CPU (total and
//! per core), load, memory without the page cache (total − MemAvailable),
//! swap, each real filesystem, and disk and network throughput since the
//! last read. The stats collector reads berth's own machine with it, and
//! `berth agent` the machine it answers for (`Engine::machine`).
//! Not here: keeping the readings (`stats`).

use crate::model::{FsUsage, HostId, HostSample};
use std::collections::HashMap;
use std::time::Instant;
use sysinfo::{Disks, Networks, System};

/// Filesystems that hold no user data.
const PSEUDO_FS: [&str; 12] = [
    "tmpfs",
    "devtmpfs",
    "overlay",
    "squashfs",
    "proc",
    "sysfs",
    "cgroup",
    "cgroup2",
    "nsfs",
    "autofs",
    "fuse.lxcfs",
    "shm",
];

/// Interfaces whose traffic is counted again on a real interface.
fn is_virtual_interface(name: &str) -> bool {
    name == "lo"
        || ["veth", "docker", "br-", "virbr", "cni", "flannel"]
            .iter()
            .any(|p| name.starts_with(p))
}

pub struct HostReader {
    host: HostId,
    system: System,
    disks: Disks,
    networks: Networks,
    /// Per device and per interface: the counters at the previous read.
    disk_counters: HashMap<String, (u64, u64)>,
    net_counters: HashMap<String, (u64, u64)>,
    last: Option<Instant>,
}

impl HostReader {
    pub fn new(host: HostId) -> Result<HostReader, String> {
        let system = System::new().map_err(|e| format!("cannot read this host's CPU and memory: {e}"))?;
        let disks = Disks::new_with_refreshed_list().map_err(|e| format!("cannot list this host's disks: {e}"))?;
        let networks =
            Networks::new_with_refreshed_list().map_err(|e| format!("cannot list this host's interfaces: {e}"))?;
        let mut reader = HostReader {
            host,
            system,
            disks,
            networks,
            disk_counters: HashMap::new(),
            net_counters: HashMap::new(),
            last: None,
        };
        // The first read sets the baselines that rates and CPU use are measured from.
        reader.read(0);
        Ok(reader)
    }

    /// One sample; rates and CPU cover the time since the previous call.
    pub fn read(&mut self, at_ms: i64) -> HostSample {
        let now = Instant::now();
        let elapsed = self.last.map_or(0.0, |l| now.duration_since(l).as_secs_f64());
        self.last = Some(now);
        self.system.refresh_cpu_usage();
        self.system.refresh_memory();
        self.disks.refresh(true);
        self.networks.refresh(true);
        let load = System::load_average().map_or([0.0; 3], |l| [l.one, l.five, l.fifteen]);
        let mem_total = self.system.total_memory();
        let mem_used = mem_total.saturating_sub(self.system.available_memory());

        let mut filesystems = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let (mut read_bytes, mut write_bytes) = (0u64, 0u64);
        for disk in self.disks.iter() {
            let fs_type = disk.file_system().to_string_lossy().to_string();
            let device = disk.name().to_string_lossy().to_string();
            let mount = disk.mount_point().to_string_lossy().to_string();
            if PSEUDO_FS.contains(&fs_type.as_str()) || disk.total_space() == 0 || mount.starts_with("/var/lib/docker/")
            {
                continue;
            }
            // Bind mounts show one device many times: count it once.
            if !seen.insert(device.clone()) {
                continue;
            }
            let usage = disk.usage();
            let (r, w) = (usage.total_read_bytes, usage.total_written_bytes);
            let (pr, pw) = self.disk_counters.insert(device.clone(), (r, w)).unwrap_or((r, w));
            read_bytes += r.saturating_sub(pr);
            write_bytes += w.saturating_sub(pw);
            filesystems.push(FsUsage {
                mount,
                device,
                fs_type,
                total: disk.total_space(),
                used: disk.total_space().saturating_sub(disk.available_space()),
            });
        }
        filesystems.sort_by(|a, b| a.mount.cmp(&b.mount));

        let (mut rx, mut tx) = (0u64, 0u64);
        for (name, data) in self.networks.iter() {
            let name = name.to_string_lossy();
            if is_virtual_interface(&name) {
                continue;
            }
            let (r, t) = (data.total_received(), data.total_transmitted());
            let (pr, pt) = self.net_counters.insert(name.to_string(), (r, t)).unwrap_or((r, t));
            rx += r.saturating_sub(pr);
            tx += t.saturating_sub(pt);
        }
        let rate = |bytes: u64| if elapsed > 0.0 { bytes as f64 / elapsed } else { 0.0 };
        HostSample {
            host: self.host.clone(),
            at_ms,
            cpu_percent: f64::from(self.system.global_cpu_usage()),
            cores: self.system.cpus().iter().map(|c| f64::from(c.usage())).collect(),
            load,
            mem_total,
            mem_used,
            swap_total: self.system.total_swap(),
            swap_used: self.system.used_swap(),
            filesystems,
            disk_read_bps: rate(read_bytes),
            disk_write_bps: rate(write_bytes),
            net_rx_bps: rate(rx),
            net_tx_bps: rate(tx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meminfo(field: &str) -> u64 {
        let text = std::fs::read_to_string("/proc/meminfo").unwrap();
        let line = text.lines().find(|l| l.starts_with(field)).unwrap();
        line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() * 1024
    }

    #[test]
    fn memory_used_is_total_minus_mem_available_as_free_reports() {
        let mut reader = HostReader::new(HostId("local".into())).unwrap();
        let sample = reader.read(1);
        let (total, available) = (meminfo("MemTotal:"), meminfo("MemAvailable:"));
        assert_eq!(sample.mem_total, total);
        // The two reads are microseconds apart: allow 64 MiB of drift.
        let expected = total - available;
        let diff = sample.mem_used.abs_diff(expected);
        assert!(diff < 64 << 20, "berth {} vs /proc/meminfo {expected}", sample.mem_used);
        assert!(sample.cpu_percent >= 0.0 && sample.cpu_percent <= 100.0);
        assert_eq!(sample.cores.len(), std::thread::available_parallelism().unwrap().get());
        assert!(!sample.filesystems.is_empty(), "no filesystem found");
        assert!(sample.filesystems.iter().all(|f| f.used <= f.total));
    }
}
