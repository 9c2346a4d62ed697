//! Refuses an output that is the input: `-o a.jsonl` for `a.jsonl`, the same file through a
//! symbolic or hard link, or stdout redirected into it. Checked before anything is opened
//! for writing, since creating the output would empty the archive it is meant to answer.

use anyhow::bail;
use std::fs::Metadata;
use std::path::Path;

/// `-` is stdin for the input and stdout for the output.
pub fn refuse_output_that_is_input(input: &Path, output: &Path) -> anyhow::Result<()> {
    let (Some(input_meta), Some(output_meta)) =
        (metadata(input, Stream::In), metadata(output, Stream::Out))
    else {
        // A missing input fails when it is opened; a missing output is created afresh.
        return Ok(());
    };
    // Only a regular file is destroyed by writing to it; a terminal or /dev/null is not.
    if !input_meta.is_file() || !output_meta.is_file() {
        return Ok(());
    }
    let same_canonical = !is_stream(input)
        && !is_stream(output)
        && std::fs::canonicalize(input).ok() == std::fs::canonicalize(output).ok();
    if !(same_canonical || same_inode(&input_meta, &output_meta)) {
        return Ok(());
    }
    let name = |path: &Path, stream: &str| {
        if is_stream(path) {
            stream.to_string()
        } else {
            path.display().to_string()
        }
    };
    bail!(
        "the output {} is the input {}{}: writing the answers there would destroy the archive; \
         choose another -o/--output",
        name(output, "(stdout)"),
        name(input, "(stdin)"),
        if input == output {
            ""
        } else {
            " (the same file, through a link or a redirection)"
        }
    )
}

#[derive(Clone, Copy)]
enum Stream {
    In,
    Out,
}

fn is_stream(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// The metadata of the file a path (following links) or a standard stream refers to.
fn metadata(path: &Path, stream: Stream) -> Option<Metadata> {
    if !is_stream(path) {
        return std::fs::metadata(path).ok();
    }
    stream_metadata(stream)
}

#[cfg(unix)]
fn stream_metadata(stream: Stream) -> Option<Metadata> {
    use std::os::fd::AsFd;
    let fd = match stream {
        Stream::In => std::io::stdin().as_fd().try_clone_to_owned(),
        Stream::Out => std::io::stdout().as_fd().try_clone_to_owned(),
    };
    std::fs::File::from(fd.ok()?).metadata().ok()
}

#[cfg(not(unix))]
fn stream_metadata(_: Stream) -> Option<Metadata> {
    None
}

#[cfg(unix)]
fn same_inode(a: &Metadata, b: &Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    (a.dev(), a.ino()) == (b.dev(), b.ino())
}

#[cfg(not(unix))]
fn same_inode(_: &Metadata, _: &Metadata) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_file_by_any_name_is_refused_and_others_pass() {
        let dir = tempfile::tempdir().unwrap();
        let archive = dir.path().join("a.jsonl");
        std::fs::write(&archive, "{}\n").unwrap();
        let other = dir.path().join("b.jsonl");
        std::fs::write(&other, "{}\n").unwrap();
        let hard = dir.path().join("hard.jsonl");
        std::fs::hard_link(&archive, &hard).unwrap();
        let relative = dir.path().join(".").join("a.jsonl");
        let mut same = vec![archive.clone(), hard, relative];
        #[cfg(unix)]
        {
            let soft = dir.path().join("soft.jsonl");
            std::os::unix::fs::symlink(&archive, &soft).unwrap();
            same.push(soft);
        }
        for output in &same {
            let err = refuse_output_that_is_input(&archive, output)
                .unwrap_err()
                .to_string();
            assert!(err.contains(&archive.display().to_string()), "{err}");
            assert!(err.contains(&output.display().to_string()), "{err}");
        }
        refuse_output_that_is_input(&archive, &other).unwrap();
        refuse_output_that_is_input(&archive, &dir.path().join("new.jsonl")).unwrap();
        refuse_output_that_is_input(&archive, Path::new("/dev/null")).unwrap();
    }
}
