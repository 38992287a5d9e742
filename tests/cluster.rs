//! The Ballista engine (feature `ballista`): a scheduler and two executors, each its own
//! `mid cluster` process on localhost, run a real example; every output is byte-identical
//! to the in-process engine's, and a scheduler that is not there is a clear error.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{fails, files_under, mid_run, network, ok};

fn tmp() -> PathBuf {
    tempfile::tempdir().expect("a temporary directory").keep()
}

/// The cluster's processes, stopped when the test ends (also when it fails).
struct Cluster {
    scheduler: String,
    children: Vec<Child>,
    logs: PathBuf,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Cluster {
    /// What the processes printed, for a failure's message.
    fn logs(&self) -> String {
        let mut all = String::new();
        for e in std::fs::read_dir(&self.logs)
            .into_iter()
            .flatten()
            .flatten()
        {
            let text = std::fs::read_to_string(e.path()).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(30).collect();
            all += &format!("--- {}\n", e.path().display());
            for l in tail.into_iter().rev() {
                all += l;
                all += "\n";
            }
        }
        all
    }
}

/// A port nobody listens on now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

fn spawn(args: &[String], log: &Path) -> Child {
    let out = std::fs::File::create(log).expect("log file");
    let err = out.try_clone().expect("log file");
    Command::new(env!("CARGO_BIN_EXE_mid"))
        .args(args)
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(err))
        .spawn()
        .expect("mid cluster starts")
}

/// Waits until something listens on `addr`.
fn listening(addr: &str, cluster: &Cluster) {
    let start = Instant::now();
    while TcpStream::connect(addr).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "nothing listens on {addr} after 120 s\n{}",
            cluster.logs()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A scheduler and two executors of one core each.
fn start_cluster() -> Cluster {
    let logs = tmp().join("logs");
    std::fs::create_dir_all(&logs).expect("log dir");
    let scheduler = format!("127.0.0.1:{}", free_port());
    let mut cluster = Cluster {
        scheduler: scheduler.clone(),
        children: Vec::new(),
        logs: logs.clone(),
    };
    let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    cluster.children.push(spawn(
        &args(&["cluster", "scheduler", "--bind", &scheduler]),
        &logs.join("scheduler.log"),
    ));
    listening(&scheduler, &cluster);
    for i in 0..2 {
        let (flight, grpc) = (free_port().to_string(), free_port().to_string());
        let work = tmp().join(format!("executor-{i}"));
        std::fs::create_dir_all(&work).expect("work dir");
        cluster.children.push(spawn(
            &args(&[
                "cluster",
                "executor",
                "--scheduler",
                &scheduler,
                "--port",
                &flight,
                "--grpc-port",
                &grpc,
                "--cores",
                "1",
                "--work-dir",
                &work.display().to_string(),
            ]),
            &logs.join(format!("executor-{i}.log")),
        ));
        listening(&format!("127.0.0.1:{flight}"), &cluster);
    }
    cluster
}

/// run.json without the run's start and end times.
fn without_times(text: &str) -> serde_json::Value {
    let mut v: serde_json::Value = serde_json::from_str(text).expect("run.json is JSON");
    let o = v.as_object_mut().expect("an object");
    assert!(o.remove("started").is_some() && o.remove("finished").is_some());
    v
}

#[test]
fn an_example_runs_on_a_ballista_cluster_with_the_same_outputs() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/thiamazole_granulocytopenia/study.mid");
    let here = tmp().join("in-process");
    ok(&mid_run(&script, network(), &here, &[]));

    let cluster = start_cluster();
    let there = tmp().join("ballista");
    let shared = tmp().join("shared");
    std::fs::create_dir_all(&shared).expect("shared dir");
    let r = mid_run(
        &script,
        network(),
        &there,
        &[
            "--engine",
            "ballista",
            "--scheduler",
            &cluster.scheduler,
            "--shared-dir",
            &shared.display().to_string(),
        ],
    );
    assert_eq!(
        r.status.code(),
        Some(0),
        "{}\n{}",
        String::from_utf8_lossy(&r.stderr),
        cluster.logs()
    );
    // The plans did run on the cluster: each executor's log names tasks it ran, and the
    // results the plans shared were written where the executors read them (and removed).
    let ran: Vec<bool> = (0..2)
        .map(|i| {
            std::fs::read_to_string(cluster.logs.join(format!("executor-{i}.log")))
                .unwrap_or_default()
                .contains("Finished task")
        })
        .collect();
    assert!(
        ran.iter().any(|r| *r),
        "no executor ran a task\n{}",
        cluster.logs()
    );
    assert_eq!(std::fs::read_dir(&shared).expect("shared").count(), 0);

    let (a, b) = (files_under(&here), files_under(&there));
    assert_eq!(a, b, "the two runs wrote different files");
    assert!(a.iter().any(|f| f.starts_with("reports")), "{a:?}");
    for f in &a {
        let (x, y) = (
            std::fs::read(here.join(f)).expect("readable"),
            std::fs::read(there.join(f)).expect("readable"),
        );
        if f == Path::new("run.json") {
            let (x, y) = (
                without_times(&String::from_utf8_lossy(&x)),
                without_times(&String::from_utf8_lossy(&y)),
            );
            assert_eq!(x, y, "run.json differs beyond its times");
        } else {
            assert!(x == y, "{} differs between the engines", f.display());
        }
    }
}

#[test]
fn a_scheduler_that_is_not_there_is_named() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/thiamazole_granulocytopenia/study.mid");
    let out = tmp().join("out");
    let nobody = format!("127.0.0.1:{}", free_port());
    let e = fails(&mid_run(
        &script,
        network(),
        &out,
        &["--engine", "ballista", "--scheduler", &nobody],
    ));
    assert!(
        e.contains(&format!("cannot reach the Ballista scheduler at {nobody}")),
        "{e}"
    );
    assert!(!out.exists(), "a failed run leaves no output");
    let r = mid_run(&script, network(), &out, &["--engine", "ballista"]);
    assert_eq!(r.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&r.stderr).contains("--scheduler"));
}
