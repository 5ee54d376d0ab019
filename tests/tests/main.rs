//! End-to-end tests with real processes, in one test binary (each binary links the whole
//! stack, so one binary links once): sync between tablets and a real server, with faults,
//! crashes, revoked devices and skewed clocks; the dashboard in Chromium; the real app in
//! WebKitGTK; the screenshot gallery (docs/gallery) of both.

mod app_closure;
mod app_e2e;
mod app_fieldwork;
mod backup_restore;
mod dashboard_e2e;
mod gallery_app;
mod gallery_dashboard;
mod replicas;
mod store_crash;
mod sync_e2e;
mod sync_faults;
mod sync_line;
mod sync_photo_store;
mod sync_recheck;
mod sync_revoked;
mod sync_server_crash;
mod sync_skewed_clocks;
mod sync_tablet_crash;
