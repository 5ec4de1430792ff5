//! The `berth` binary: see `berth --help`.

fn main() -> std::process::ExitCode {
    tune_malloc();
    berth_server::main()
}

/// glibc's allocator, set for a server that allocates little, from a few
/// threads at a time, and now and then one big block. It runs before any
/// thread is started. Measured with `cargo bench -p berth-server --bench
/// agent` (a core with five agent hosts, idle, an admin signed in).
///
/// - One arena: glibc gives each thread that allocates its own (up to eight
///   per core), and each keeps what was freed in it. 31 -> 22 MiB of the
///   core's own memory, at the same CPU.
/// - Blocks of 1 MiB and more always straight from the kernel, and back to
///   it when freed. glibc's default threshold moves up to the largest block
///   freed so far, so after the first password hash (argon2 takes 19 MiB)
///   every later one came from the heap, which then kept those 19 MiB for
///   good: 29 -> 13 MiB of its own with a debug build after one sign-in.
///
/// `MALLOC_ARENA_MAX` and `MALLOC_MMAP_THRESHOLD_` in the environment still
/// decide instead.
fn tune_malloc() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt only changes the allocator's parameters; no other
        // thread exists yet to allocate while it does.
        if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
            unsafe {
                libc::mallopt(libc::M_ARENA_MAX, 1);
            }
        }
        if std::env::var_os("MALLOC_MMAP_THRESHOLD_").is_none() {
            unsafe {
                libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
            }
        }
    }
}
