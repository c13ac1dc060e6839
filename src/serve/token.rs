//! The session token of `chunkwise serve`: generated at start, saved to a
//! file only its owner can read, and required on every HTTP request.
//!
//! The token is 32 random bytes from the operating system, written as 64
//! lowercase hex digits. [`save`] writes it atomically (a temporary file in
//! the same directory, mode `0600`, then a rename), so a client that
//! [`read`]s the file never sees half a token, and never a token another
//! user could have read.
//!
//! ```no_run
//! use chunkwise::serve::token;
//! let path = token::default_path()?;
//! let t = token::generate()?;
//! token::save(&path, &t)?;
//! assert_eq!(token::read(&path)?, t);
//! # Ok::<(), chunkwise::error::Error>(())
//! ```

use crate::error::{Error, Result};
use std::fs::{self, DirBuilder, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// Random bytes in a token.
const TOKEN_BYTES: usize = 32;

/// A new token: 32 random bytes from the operating system, as 64 hex digits.
pub fn generate() -> Result<String> {
    let mut bytes = [0u8; TOKEN_BYTES];
    getrandom::fill(&mut bytes).map_err(|e| {
        Error::Io(format!(
            "cannot get random bytes for the session token from the operating system: {e}"
        ))
    })?;
    Ok(hex(&bytes))
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    s
}

/// `~/.chunkwise/token`, where `chunkwise serve` saves the token and
/// `chunkwise shell --connect` looks for it unless told otherwise.
pub fn default_path() -> Result<PathBuf> {
    match std::env::var_os("HOME") {
        Some(home) if !home.is_empty() => Ok(PathBuf::from(home).join(".chunkwise").join("token")),
        _ => Err(Error::Io(
            "HOME is not set, so there is no default token file; give one with --token-file PATH"
                .into(),
        )),
    }
}

/// Write `token` to `path`, readable and writable by the current user only
/// (mode `0600`), atomically: a temporary file in the same directory, then a
/// rename over `path`. A missing parent directory is created with mode
/// `0700`.
pub fn save(path: &Path, token: &str) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let Some(name) = path.file_name() else {
        return Err(Error::Io(format!(
            "the token file {} names no file; give one with --token-file PATH",
            path.display()
        )));
    };
    if !dir.is_dir() {
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(|e| {
                Error::Io(format!(
                    "cannot create {} for the token file: {e}",
                    dir.display()
                ))
            })?;
    }
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".tmp-{}", std::process::id()));
    let tmp = dir.join(tmp_name);
    let written = write_private(&tmp, token).and_then(|()| fs::rename(&tmp, path));
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(Error::Io(format!(
            "cannot save the session token to {}: {e}",
            path.display()
        )));
    }
    Ok(())
}

/// Create `path` afresh with mode `0600` and write `token` and a newline.
fn write_private(path: &Path, token: &str) -> std::io::Result<()> {
    // A leftover from a crashed earlier attempt with the same pid.
    let _ = fs::remove_file(path);
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(token.as_bytes())?;
    f.write_all(b"\n")?;
    f.sync_all()
}

/// The token saved in `path` (by [`save`]), without surrounding whitespace.
pub fn read(path: &Path) -> Result<String> {
    let text = fs::read_to_string(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::Io(format!(
                "no token at {}: is `chunkwise serve` running? It saves its token there \
                 when it starts (or give the file with --token-file PATH)",
                path.display()
            ))
        } else {
            Error::Io(format!(
                "cannot read the token from {}: {e}",
                path.display()
            ))
        }
    })?;
    let token = text.trim();
    if token.is_empty() || token.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Error::Io(format!(
            "{} does not hold a token (one line of hex digits, as `chunkwise serve` writes)",
            path.display()
        )));
    }
    Ok(token.to_string())
}

/// Whether `given` equals `expected`, in time that depends on their lengths
/// only, not on where they first differ.
pub fn matches(given: &[u8], expected: &[u8]) -> bool {
    let n = given.len().max(expected.len());
    let mut diff = u8::from(given.len() != expected.len());
    for i in 0..n {
        let a = given.get(i).copied().unwrap_or(0);
        let b = expected.get(i).copied().unwrap_or(0);
        diff |= a ^ b;
    }
    // Keep the compiler from turning the fold into an early exit.
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn temp_dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "chunkwise-token-{name}-{}-{}",
            std::process::id(),
            &generate().unwrap()[..8]
        ));
        let _ = fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn generate_gives_64_hex_digits_and_differs_each_time() {
        let a = generate().unwrap();
        let b = generate().unwrap();
        assert_eq!(a.len(), 64);
        assert!(a
            .bytes()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_ne!(a, b);
    }

    #[test]
    fn hex_writes_each_byte_as_two_digits() {
        assert_eq!(hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
    }

    #[test]
    fn save_creates_a_private_dir_and_a_0600_file_that_read_returns() {
        let root = temp_dir("save");
        let path = root.join("sub").join("token");
        save(&path, "abc123").unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
        assert_eq!(fs::read_to_string(&path).unwrap(), "abc123\n");
        assert_eq!(read(&path).unwrap(), "abc123");
        // Saving again replaces the token and leaves no temporary file.
        save(&path, "def456").unwrap();
        assert_eq!(read(&path).unwrap(), "def456");
        assert_eq!(mode(&path), 0o600);
        let names: Vec<_> = fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("token")]);
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn save_replaces_a_file_others_could_read_with_a_private_one() {
        let root = temp_dir("replace");
        fs::create_dir_all(&root).unwrap();
        let path = root.join("token");
        fs::write(&path, "old\n").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        save(&path, "new").unwrap();
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn read_names_the_file_when_it_is_missing_or_empty() {
        let root = temp_dir("read");
        let missing = root.join("nothing");
        let e = read(&missing).unwrap_err();
        assert!(matches!(e, Error::Io(_)));
        assert!(e.message().contains("nothing"), "{e}");
        assert!(e.message().contains("chunkwise serve"), "{e}");
        fs::create_dir_all(&root).unwrap();
        let empty = root.join("empty");
        fs::write(&empty, "\n").unwrap();
        assert!(read(&empty).unwrap_err().message().contains("empty"));
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn matches_only_equal_tokens() {
        assert!(matches(b"abcd", b"abcd"));
        assert!(!matches(b"abce", b"abcd"));
        assert!(!matches(b"abc", b"abcd"));
        assert!(!matches(b"abcd\0", b"abcd"));
        assert!(!matches(b"", b"abcd"));
        assert!(matches(b"", b""));
    }
}
