//! The `berth` binary: see `berth --help`.

fn main() -> std::process::ExitCode {
    one_malloc_arena();
    berth_server::cli::main()
}

/// glibc gives each thread that allocates its own arena (up to eight per
/// core), and each arena keeps what was freed in it. berth allocates little
/// and from a few threads at a time, so one arena serves it as well: measured
/// with `cargo bench -p berth-server --bench agent`, a core with five agent
/// hosts keeps 22 MiB of its own memory instead of 31 MiB idle and 36 MiB
/// with a viewer, at the same CPU. It runs before any thread is started.
/// Setting `MALLOC_ARENA_MAX` in the environment still decides instead.
fn one_malloc_arena() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt only changes the allocator's parameters; no other
        // thread exists yet to allocate while it does.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 1);
        }
    }
}
