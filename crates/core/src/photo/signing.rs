//! The device's Ed25519 key and the signature over each photo's capture record and each
//! site check-in.
//!
//! The key pair is made at first start and its 32-byte secret kept in the app data directory
//! (file [`KEY_FILE`], mode 0600). The server learns the public key at login and checks each
//! photo record with `fieldcheck_domain::device_signature::verify_record` over the same
//! `signed_message`.

use super::PhotoError;
use ed25519_dalek::{Signer, SigningKey};
use fieldcheck_domain::device_signature::{check_in_message, signed_message};
use fieldcheck_protocol::{CheckInRecord, PhotoRecord};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

/// Name of the secret key file inside the app data directory.
pub const KEY_FILE: &str = "device_key.ed25519";

/// This tablet's signing key. Clones share one key: when a wipe renews it ([`DeviceKey::renew`])
/// every holder (the photo pipeline, sign-in) signs with the new one.
#[derive(Clone)]
pub struct DeviceKey {
    shared: Arc<Shared>,
}

struct Shared {
    dir: PathBuf,
    key: RwLock<SigningKey>,
}

impl DeviceKey {
    /// Loads the key from `dir`, or makes one and stores it there (written to a temporary file,
    /// fsynced, renamed, then the directory fsynced, so a crash never leaves half a key).
    pub fn load_or_create(dir: &Path) -> Result<DeviceKey, PhotoError> {
        let path = dir.join(KEY_FILE);
        let key = match fs::read(&path) {
            Ok(bytes) => {
                let secret: [u8; 32] =
                    bytes
                        .as_slice()
                        .try_into()
                        .map_err(|_| PhotoError::DeviceKey {
                            path: path.clone(),
                            detail: format!("{} bytes, expected 32", bytes.len()),
                        })?;
                restrict_permissions(&path)?;
                SigningKey::from_bytes(&secret)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => create(dir, &path)?,
            Err(e) => return Err(PhotoError::io("read device key")(e)),
        };
        Ok(DeviceKey {
            shared: Arc::new(Shared {
                dir: dir.to_path_buf(),
                key: RwLock::new(key),
            }),
        })
    }

    /// Throws the key away and makes a new one, in the file and in every clone: what a wipe
    /// does, so that nothing signed after it can pass for the wiped device's work. The old
    /// secret is zeroed in place and synced before the new file takes its name (flash storage
    /// may still hold older copies of its blocks; that is as far as an app can reach).
    pub fn renew(&self) -> Result<(), PhotoError> {
        let dir = &self.shared.dir;
        let path = dir.join(KEY_FILE);
        scrub(&path).map_err(PhotoError::io("erase old device key"))?;
        let key = create(dir, &path)?;
        *self.shared.key.write().unwrap_or_else(|e| e.into_inner()) = key;
        Ok(())
    }

    fn key(&self) -> SigningKey {
        self.shared
            .key
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The public key, lower-case hex (64 digits), as sent to the server at login.
    pub fn public_key_hex(&self) -> String {
        hex::encode(self.key().verifying_key().as_bytes())
    }

    /// Signs `record` (see [`signed_message`]) and stores the hex signature in it.
    pub fn sign(&self, record: &mut PhotoRecord) {
        let signature = self.key().sign(&signed_message(record));
        record.signature = hex::encode(signature.to_bytes());
    }

    /// Signs a check-in (see [`check_in_message`]) and stores the hex signature in it.
    pub fn sign_check_in(&self, record: &mut CheckInRecord) {
        let signature = self.key().sign(&check_in_message(record));
        record.signature = hex::encode(signature.to_bytes());
    }
}

/// Overwrites the secret in the key file at `path` with zeros and syncs it; nothing to do
/// when there is no file.
fn scrub(path: &Path) -> std::io::Result<()> {
    match fs::OpenOptions::new().write(true).open(path) {
        Ok(mut file) => {
            file.write_all(&[0; 32])?;
            file.sync_all()
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// Makes a key and stores it durably at `path` (temporary file, fsync, rename, directory
/// fsync), replacing any key there.
fn create(dir: &Path, path: &Path) -> Result<SigningKey, PhotoError> {
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| PhotoError::io("make device key")(e.into()))?;
    fs::create_dir_all(dir).map_err(PhotoError::io("create app data directory"))?;
    let temp = dir.join(format!(".{KEY_FILE}.tmp"));
    let written = (|| {
        let mut file = open_private(&temp)?;
        file.write_all(&secret)?;
        file.sync_all()?;
        fs::rename(&temp, path)?;
        fs::File::open(dir)?.sync_all()
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(&temp);
        return Err(PhotoError::io("store device key")(e));
    }
    Ok(SigningKey::from_bytes(&secret))
}

#[cfg(unix)]
fn open_private(path: &Path) -> std::io::Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn open_private(path: &Path) -> std::io::Result<fs::File> {
    fs::File::create(path)
}

/// Tightens a key file that others can read back to 0600.
#[cfg(unix)]
fn restrict_permissions(path: &Path) -> Result<(), PhotoError> {
    use std::os::unix::fs::PermissionsExt;
    let meta = fs::metadata(path).map_err(PhotoError::io("read device key"))?;
    if meta.permissions().mode() & 0o077 != 0 {
        fs::set_permissions(path, fs::Permissions::from_mode(0o600))
            .map_err(PhotoError::io("protect device key"))?;
    }
    Ok(())
}

#[cfg(not(unix))]
fn restrict_permissions(_path: &Path) -> Result<(), PhotoError> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renewing_zeroes_the_old_secret_in_place_and_every_clone_signs_with_the_new_key() {
        let dir = tempfile::tempdir().unwrap();
        let key = DeviceKey::load_or_create(dir.path()).unwrap();
        let clone = key.clone();
        let old_public = key.public_key_hex();
        // A second name for the old file's inode: what stays on the disk after a rename.
        let old_inode = dir.path().join("old-inode");
        fs::hard_link(dir.path().join(KEY_FILE), &old_inode).unwrap();
        let old_secret = fs::read(&old_inode).unwrap();
        assert!(old_secret.iter().any(|&b| b != 0));

        key.renew().unwrap();
        assert_eq!(
            fs::read(&old_inode).unwrap(),
            [0; 32],
            "the old secret is zeroed"
        );
        assert_ne!(fs::read(dir.path().join(KEY_FILE)).unwrap(), old_secret);
        assert_ne!(
            clone.public_key_hex(),
            old_public,
            "clones sign with the new key"
        );
        let reloaded = DeviceKey::load_or_create(dir.path()).unwrap();
        assert_eq!(reloaded.public_key_hex(), clone.public_key_hex());
    }
}
