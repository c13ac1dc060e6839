//! Settings from three places, in this priority: command-line flags, then the
//! environment (`CHUNKWISE_*`), then a TOML config file; what none of them
//! sets keeps its default ([`Config::default`]).
//!
//! The config file is `--config PATH` if given, else `$CHUNKWISE_CONFIG`, else
//! `$XDG_CONFIG_HOME/chunkwise/config.toml` (`~/.config/chunkwise/config.toml`
//! when `XDG_CONFIG_HOME` is unset) if that file exists. A file named by the
//! flag or the variable must exist. Its keys:
//!
//! ```toml
//! threads = 8              # worker threads per rank (0: one per core given)
//! memory_limit = "16GiB"   # or a number of bytes
//! progress = false         # progress bar on rank 0's terminal
//! ```
//!
//! ```
//! use chunkwise::session::settings::Settings;
//! let file = Settings::from_toml("threads = 2\nmemory_limit = \"1GiB\"", "config.toml")?;
//! let env = Settings::from_env_with(|k| (k == "CHUNKWISE_MEMORY_LIMIT").then(|| "2GiB".into()))?;
//! let flags = Settings { threads: Some(4), ..Settings::default() };
//! let s = flags.over(env).over(file);
//! assert_eq!((s.threads, s.memory_limit), (Some(4), Some(2 << 30)));
//! # Ok::<(), chunkwise::Error>(())
//! ```

use super::{parse_bytes, Config};
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// Settings that may each be unset (then a lower-priority source, or the
/// default, decides).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    /// Worker threads per rank; 0: one per hardware thread of the rank's cores.
    pub threads: Option<usize>,
    /// Bytes per rank a plan may be projected to need.
    pub memory_limit: Option<u64>,
    /// Draw rank 0's progress bar (default: when standard error is a terminal).
    pub progress: Option<bool>,
}

/// The config file's keys, as TOML gives them.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    threads: Option<usize>,
    memory_limit: Option<FileSize>,
    progress: Option<bool>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(untagged)]
enum FileSize {
    Bytes(u64),
    Text(String),
}

impl Settings {
    /// `self`, with what it leaves unset taken from `lower`.
    pub fn over(self, lower: Settings) -> Settings {
        Settings {
            threads: self.threads.or(lower.threads),
            memory_limit: self.memory_limit.or(lower.memory_limit),
            progress: self.progress.or(lower.progress),
        }
    }

    /// The session configuration: these settings over the defaults.
    pub fn config(&self) -> Config {
        let mut c = Config::default();
        if let Some(t) = self.threads {
            c.threads = t;
        }
        if let Some(m) = self.memory_limit {
            c.memory_limit = m;
        }
        c
    }

    /// `CHUNKWISE_THREADS`, `CHUNKWISE_MEMORY_LIMIT` and `CHUNKWISE_PROGRESS`
    /// (`1` or `0`) from the process environment.
    ///
    /// # Errors
    /// [`Error::Plan`] naming the variable whose value does not parse.
    pub fn from_env() -> Result<Settings> {
        Settings::from_env_with(|k| std::env::var(k).ok())
    }

    /// [`from_env`](Self::from_env) reading variables through `var`.
    pub fn from_env_with(var: impl Fn(&str) -> Option<String>) -> Result<Settings> {
        let mut s = Settings::default();
        if let Some(t) = var("CHUNKWISE_THREADS") {
            s.threads = Some(parse_threads(&t).ok_or_else(|| {
                Error::plan(format!(
                    "CHUNKWISE_THREADS={t:?} is not a number of threads"
                ))
            })?);
        }
        if let Some(m) = var("CHUNKWISE_MEMORY_LIMIT") {
            s.memory_limit = Some(parse_size(&m).ok_or_else(|| {
                Error::plan(format!(
                    "CHUNKWISE_MEMORY_LIMIT={m:?} is not a size {SIZE_EXAMPLES}"
                ))
            })?);
        }
        if let Some(p) = var("CHUNKWISE_PROGRESS") {
            s.progress = Some(parse_switch(&p).ok_or_else(|| {
                Error::plan(format!(
                    "CHUNKWISE_PROGRESS={p:?} is not a switch (1 or 0, true or false)"
                ))
            })?);
        }
        Ok(s)
    }

    /// Settings from the text of a TOML config file; `origin` names it in
    /// messages.
    ///
    /// # Errors
    /// [`Error::Plan`] naming the file for bad TOML, an unknown key or a bad
    /// value.
    pub fn from_toml(text: &str, origin: &str) -> Result<Settings> {
        let f: FileSettings = toml::from_str(text)
            .map_err(|e| Error::plan(format!("config file `{origin}`: {}", e.message())))?;
        let memory_limit = match f.memory_limit {
            None => None,
            Some(FileSize::Bytes(b)) => Some(b),
            Some(FileSize::Text(t)) => Some(parse_size(&t).ok_or_else(|| {
                Error::plan(format!(
                    "config file `{origin}`: memory_limit = {t:?} is not a size {SIZE_EXAMPLES}"
                ))
            })?),
        };
        Ok(Settings {
            threads: f.threads,
            memory_limit,
            progress: f.progress,
        })
    }

    /// Read the config file at `path`.
    ///
    /// # Errors
    /// [`Error::Io`] if it cannot be read; as [`from_toml`](Self::from_toml).
    pub fn from_file(path: &Path) -> Result<Settings> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Io(format!("cannot read config file `{shown}`: {e}")))?;
        Settings::from_toml(&text, &shown)
    }

    /// Flags over the environment over the config file (see the module
    /// documentation for which file).
    ///
    /// # Errors
    /// As [`from_env`](Self::from_env) and [`from_file`](Self::from_file).
    pub fn load(flags: Settings, config: Option<&Path>) -> Result<Settings> {
        let env = Settings::from_env()?;
        let file = match config_file(config, |k| std::env::var_os(k).map(PathBuf::from)) {
            Some(p) => Settings::from_file(&p)?,
            None => Settings::default(),
        };
        Ok(flags.over(env).over(file))
    }
}

const SIZE_EXAMPLES: &str = "(examples: 800000000, 512MiB, 4GiB)";

fn parse_threads(s: &str) -> Option<usize> {
    s.trim().parse().ok()
}

/// A size in bytes (`4GiB`, `512MiB`, `800000000`).
pub fn parse_size(s: &str) -> Option<u64> {
    if s.trim().is_empty() {
        return None;
    }
    parse_bytes(s)
}

/// `1`/`0`, `true`/`false`, `on`/`off`, `yes`/`no`.
pub fn parse_switch(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "on" | "yes" => Some(true),
        "0" | "false" | "off" | "no" => Some(false),
        _ => None,
    }
}

/// Which config file to read: `explicit` (the flag), else `CHUNKWISE_CONFIG`,
/// else the user's default file if it exists; `var` reads the environment.
pub fn config_file(
    explicit: Option<&Path>,
    var: impl Fn(&str) -> Option<PathBuf>,
) -> Option<PathBuf> {
    if let Some(p) = explicit {
        return Some(p.to_path_buf());
    }
    if let Some(p) = var("CHUNKWISE_CONFIG").filter(|p| !p.as_os_str().is_empty()) {
        return Some(p);
    }
    let base = var("XDG_CONFIG_HOME")
        .filter(|p| p.is_absolute())
        .or_else(|| var("HOME").map(|h| h.join(".config")))?;
    let p = base.join("chunkwise").join("config.toml");
    p.is_file().then_some(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_beat_environment_beats_file() {
        let file = Settings::from_toml(
            "threads = 3\nmemory_limit = \"1GiB\"\nprogress = true\n",
            "c.toml",
        )
        .unwrap();
        let env = Settings::from_env_with(|k| match k {
            "CHUNKWISE_MEMORY_LIMIT" => Some("2GiB".into()),
            "CHUNKWISE_PROGRESS" => Some("0".into()),
            _ => None,
        })
        .unwrap();
        let flags = Settings {
            memory_limit: Some(3 << 30),
            ..Settings::default()
        };
        let s = flags.clone().over(env.clone()).over(file.clone());
        assert_eq!(s.threads, Some(3), "only the file sets threads");
        assert_eq!(s.memory_limit, Some(3 << 30), "the flag wins");
        assert_eq!(s.progress, Some(false), "the environment beats the file");
        let s = Settings::default().over(env).over(file.clone());
        assert_eq!(s.memory_limit, Some(2 << 30));
        let s = Settings::default().over(Settings::default()).over(file);
        assert_eq!(
            (s.threads, s.memory_limit, s.progress),
            (Some(3), Some(1 << 30), Some(true))
        );
        assert_eq!(s.config().threads, 3);
        assert_eq!(s.config().memory_limit, 1 << 30);
    }

    #[test]
    fn bad_values_name_their_source() {
        let e = Settings::from_toml("threds = 2", "my.toml").unwrap_err();
        assert!(
            e.message().contains("my.toml") && e.message().contains("threds"),
            "{e}"
        );
        let e = Settings::from_toml("memory_limit = \"lots\"", "my.toml").unwrap_err();
        assert!(e.message().contains("memory_limit"), "{e}");
        assert_eq!(
            Settings::from_toml("memory_limit = 1000", "m")
                .unwrap()
                .memory_limit,
            Some(1000)
        );
        let e = Settings::from_env_with(|k| (k == "CHUNKWISE_THREADS").then(|| "many".into()))
            .unwrap_err();
        assert!(e.message().contains("CHUNKWISE_THREADS"), "{e}");
        let e = Settings::from_env_with(|k| (k == "CHUNKWISE_PROGRESS").then(|| "maybe".into()))
            .unwrap_err();
        assert!(e.message().contains("CHUNKWISE_PROGRESS"), "{e}");
    }

    #[test]
    fn config_file_is_the_flag_then_the_variable_then_the_default_if_present() {
        let dir = std::env::temp_dir().join(format!("chunkwise-settings-{}", std::process::id()));
        let cfg = dir.join("chunkwise");
        std::fs::create_dir_all(&cfg).unwrap();
        let default = cfg.join("config.toml");
        let env = |with_var: bool, with_default: bool| {
            let dir = dir.clone();
            move |k: &str| match k {
                "CHUNKWISE_CONFIG" if with_var => Some(PathBuf::from("/from/variable.toml")),
                "XDG_CONFIG_HOME" if with_default => Some(dir.clone()),
                "HOME" => Some(PathBuf::from("/nonexistent-home")),
                _ => None,
            }
        };
        let flag = Path::new("/from/flag.toml");
        assert_eq!(config_file(Some(flag), env(true, true)), Some(flag.into()));
        assert_eq!(
            config_file(None, env(true, true)),
            Some(PathBuf::from("/from/variable.toml"))
        );
        // The default file counts only when it exists.
        assert_eq!(config_file(None, env(false, true)), None);
        std::fs::write(&default, "threads = 1\n").unwrap();
        assert_eq!(config_file(None, env(false, true)), Some(default.clone()));
        assert_eq!(config_file(None, env(false, false)), None);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
