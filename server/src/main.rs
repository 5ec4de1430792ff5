//! The `berth` binary: see `berth --help`.

fn main() -> std::process::ExitCode {
    berth_server::cli::main()
}
