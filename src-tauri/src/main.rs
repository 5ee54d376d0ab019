//! The desktop entry point of the Fieldcheck tablet app.

// No console window on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    // `--version` answers before any window or library starts, so it works with no display.
    if std::env::args()
        .skip(1)
        .any(|a| a == "--version" || a == "-V")
    {
        println!("fieldcheck-app {}", fieldcheck_build_info::VERSION_LINE);
        return;
    }
    // WebKitGTK composites pages with OpenGL; without a GPU (a VM, a remote desktop, Xvfb) that
    // is Mesa's software GL, and scrolling the checklist took 155 ms a frame and a tap 96 ms
    // (BENCHMARKS.md, "Tablet app"). Painting on the CPU instead keeps every frame near 16 ms.
    // A value the user set is kept.
    #[cfg(target_os = "linux")]
    if std::env::var_os("WEBKIT_DISABLE_COMPOSITING_MODE").is_none() {
        // SAFETY: first thing in main, before any thread exists that could read the environment.
        unsafe { std::env::set_var("WEBKIT_DISABLE_COMPOSITING_MODE", "1") };
    }
    fieldcheck_app_lib::run()
}
