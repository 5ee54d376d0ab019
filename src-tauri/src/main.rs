//! The desktop entry point of the Fieldcheck tablet app.

// No console window on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    fieldcheck_app_lib::run()
}
