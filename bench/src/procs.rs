//! Processes under measurement: starting them pinned to a core, their CPU time and peak memory
//! from `/proc`, and the machine's description.

use std::{
    net::{SocketAddr, TcpListener},
    path::Path,
    process::Stdio,
    time::{Duration, Instant},
};

use anyhow::{Context, Result, bail};
use serde::Serialize;
use tokio::process::{Child, Command};

/// A free loopback port.
pub fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Pins a process and all its threads to `cores` ("0", "1", "0-1").
pub fn pin(pid: u32, cores: &str) -> Result<()> {
    let status = std::process::Command::new("taskset")
        .args(["-a", "-cp", cores, &pid.to_string()])
        .stdout(Stdio::null())
        .status()
        .context("taskset is needed to pin processes to cores")?;
    if !status.success() {
        bail!("taskset could not pin {pid} to {cores}");
    }
    Ok(())
}

/// A command that runs pinned to `core` (through `taskset`).
pub fn pinned(core: usize, program: &Path) -> Command {
    on_cores(&core.to_string(), program)
}

/// A command that may run on any of `cores` ("1", "0-1"), whatever the cores of the process
/// starting it: a child inherits its parent's, and this one's is pinned to the load core.
pub fn on_cores(cores: &str, program: &Path) -> Command {
    let mut cmd = Command::new("taskset");
    cmd.arg("-c").arg(cores).arg(program);
    cmd.kill_on_drop(true);
    cmd
}

/// Every core of the machine, as `taskset` names them ("0-1").
pub fn all_cores() -> String {
    let n = std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .filter(|l| l.starts_with("processor"))
        .count()
        .max(1);
    format!("0-{}", n - 1)
}

/// User plus system CPU seconds a process has used so far.
pub fn cpu_seconds(pid: u32) -> Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11).context("no utime")?.parse()?;
    let stime: f64 = fields.get(12).context("no stime")?.parse()?;
    Ok((utime + stime) / clock_ticks())
}

fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// Peak resident memory of a process, in MiB (`VmHWM`).
pub fn peak_rss_mib(pid: u32) -> Result<f64> {
    status_mib(pid, "VmHWM")
}

/// Resident memory of a process now, in MiB (`VmRSS`).
pub fn rss_mib(pid: u32) -> Result<f64> {
    status_mib(pid, "VmRSS")
}

/// A kB field of `/proc/PID/status`, in MiB.
fn status_mib(pid: u32, field: &str) -> Result<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next())
        .with_context(|| format!("no {field}"))?
        .parse()?;
    Ok(kib / 1024.0)
}

/// A running server process.
pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
    pub started: Instant,
}

impl Server {
    /// The process id.
    pub fn pid(&self) -> Result<u32> {
        self.child.id().context("the server has exited")
    }

    /// Stops the server (SIGTERM, then a kill after 10 s).
    pub async fn stop(mut self) -> Result<()> {
        if let Some(pid) = self.child.id() {
            let _ = std::process::Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status();
            if tokio::time::timeout(Duration::from_secs(10), self.child.wait())
                .await
                .is_err()
            {
                self.child.kill().await?;
            }
        }
        Ok(())
    }
}

/// Waits until `probe` succeeds, or fails after `limit`, or when the process exits.
pub async fn wait_until<F, Fut>(server: &mut Server, limit: Duration, mut probe: F) -> Result<()>
where
    F: FnMut(SocketAddr) -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    loop {
        if probe(server.addr).await {
            return Ok(());
        }
        if let Some(status) = server.child.try_wait()? {
            bail!("the server exited early: {status}");
        }
        if Instant::now() > deadline {
            bail!("the server did not answer within {limit:?}");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// What machine this is.
#[derive(Clone, Debug, Serialize)]
pub struct Machine {
    pub cpu: String,
    pub cores: usize,
    pub memory_gib: f64,
    pub kernel: String,
    pub rustc: String,
}

pub fn command_line(program: &str, args: &[&str]) -> String {
    std::process::Command::new(program)
        .args(args)
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

impl Machine {
    /// Reads the machine's description.
    pub fn describe() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name"))
            .map(|v| v.trim_start_matches([' ', '\t', ':']).trim().to_owned())
            .unwrap_or_else(|| "unknown".to_owned());
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let memory_kib: f64 = meminfo
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0);
        Machine {
            cpu,
            cores: cpuinfo
                .lines()
                .filter(|l| l.starts_with("processor"))
                .count(),
            memory_gib: (memory_kib / 1024.0 / 1024.0 * 10.0).round() / 10.0,
            kernel: command_line("uname", &["-sr"]),
            rustc: command_line("rustc", &["--version"]),
        }
    }
}
