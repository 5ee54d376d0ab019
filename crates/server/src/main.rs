//! `fieldcheck-server`: the county office's server and its admin commands.

mod cli;

use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    return_large_allocations_to_the_system();
    // Log filter: FIELDCHECK_LOG, else RUST_LOG, else `info`; logs go to stderr, coloured
    // only on a terminal (a file or the journal gets plain text).
    use std::io::IsTerminal;
    tracing_subscriber::fmt()
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("FIELDCHECK_LOG")
                .or_else(|_| tracing_subscriber::EnvFilter::try_from_default_env())
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    cli::Cli::parse().run().await
}

/// Each login's Argon2id check allocates a 19 MiB block. glibc raises its mmap threshold after
/// such a block is freed and then keeps later ones in its heaps: 500 tablets signing in left the
/// server at 1.3-1.7 GB RSS. A fixed threshold makes large blocks go back to the system when
/// freed.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn return_large_allocations_to_the_system() {
    // SAFETY: mallopt only changes allocator tuning and takes the allocator's own locks.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn return_large_allocations_to_the_system() {}
