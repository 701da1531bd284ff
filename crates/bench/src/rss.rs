//! Reading a process's resident memory from `/proc/<pid>/status`.

/// Resident set size (VmRSS) of `pid` in KiB, or `None` if unreadable.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    parse_vmrss(&status)
}

/// Extracts the VmRSS figure (KiB) from the text of a `/proc/<pid>/status` file.
pub fn parse_vmrss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.trim_start_matches("VmRSS:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_vmrss_line() {
        assert_eq!(
            parse_vmrss("Name:\tx\nVmRSS:\t   12345 kB\nVmSwap: 0 kB\n"),
            Some(12345)
        );
        assert_eq!(parse_vmrss("Name:\tx\n"), None);
        assert!(rss_kib(std::process::id()).is_some_and(|k| k > 0));
    }
}
