//! Tests of the `rask` binary: one-shot queries, output formats, scripts, the shell on a pipe,
//! errors and the data generators.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn rask(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rask"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("run rask")
}

fn rask_stdin(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rask"))
        .args(args)
        .current_dir(root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn rask");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("wait")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn count_on_the_bundled_data() {
    let out = rask(&[
        "sql",
        "--data",
        "datasets/tpch-sf0.01",
        "SELECT count(*) AS n FROM lineitem",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("60175"), "{}", text(&out.stdout));
}

#[test]
fn csv_format_is_header_then_rows_only() {
    let out = rask(&[
        "sql",
        "--data",
        "datasets/tpch-sf0.01",
        "--format",
        "csv",
        "SELECT r_regionkey, r_name FROM region ORDER BY r_regionkey LIMIT 2",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "r_regionkey,r_name\n0,AFRICA\n1,AMERICA\n"
    );
}

#[test]
fn table_flag_script_file_and_scheduler() {
    let dir = tempfile::tempdir().expect("tempdir");
    let script = dir.path().join("q.sql");
    std::fs::write(
        &script,
        "CREATE VIEW big AS SELECT * FROM n WHERE n_nationkey >= 20;\nSELECT count(*) AS c FROM big;\n",
    )
    .expect("write");
    let out = rask(&[
        "sql",
        "--table",
        "n=datasets/tpch-sf0.01/nation",
        "--scheduler",
        "single-threaded",
        "--format",
        "csv",
        "-f",
        &script.to_string_lossy(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "c\n5\n");
}

#[test]
fn shell_reads_statements_from_a_pipe() {
    let out = rask_stdin(
        &["sql", "--data", "datasets/tpch-sf0.01", "--format", "csv"],
        "SELECT count(*) AS c\nFROM region;\n",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("c\n5\n"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn errors_are_one_message_and_exit_1() {
    for (args, needle) in [
        (vec!["sql", "SELEC 1"], "Line: 1"),
        (
            vec![
                "sql",
                "--data",
                "datasets/tpch-sf0.01",
                "SELECT nope FROM region",
            ],
            "nope",
        ),
        (vec!["sql", "SELECT * FROM 'no/such/dir/'"], "no/such/dir"),
        (
            vec!["sql", "--table", "x=no/such/file.parquet", "SELECT 1"],
            "no/such/file.parquet",
        ),
        (vec!["sql", "SELECT 1 / 0"], "ivision by zero"),
    ] {
        let out = rask(&args);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(text(&out.stdout).is_empty(), "{args:?}");
    }
}

#[test]
fn datagen_tpch_and_h2o_then_query() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tpch = dir.path().join("tpch");
    let out = rask(&[
        "datagen",
        "tpch",
        "--sf",
        "0.001",
        "--parts",
        "2",
        "--out",
        &tpch.to_string_lossy(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = rask(&[
        "sql",
        "--data",
        &tpch.to_string_lossy(),
        "--format",
        "csv",
        "SELECT count(*) AS c FROM nation",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "c\n25\n");

    let h2o = dir.path().join("h2o");
    let out = rask(&[
        "datagen",
        "h2o",
        "--rows",
        "1000",
        "--groups",
        "10",
        "--out",
        &h2o.to_string_lossy(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = rask(&[
        "sql",
        "--table",
        &format!("x={}", h2o.to_string_lossy()),
        "--format",
        "csv",
        "SELECT count(*) AS c, count(DISTINCT id1) <= 10 AS ok FROM x",
    ]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(stdout.starts_with("c,ok\n1000,true"), "{stdout}");
}

#[cfg(unix)]
#[test]
fn output_to_a_device_writes_in_place() {
    use std::os::unix::fs::FileTypeExt;
    let out = rask(&[
        "sql",
        "--format",
        "csv",
        "--output",
        "/dev/null",
        "SELECT 1 AS one",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let meta = std::fs::metadata("/dev/null").expect("stat /dev/null");
    assert!(meta.file_type().is_char_device(), "/dev/null was replaced");
}

#[test]
fn spilled_csv_output_is_the_same_with_either_compression() {
    // A sort spilling under 2 MB, written as CSV by the query's workers, in order.
    let query = "SELECT l_orderkey, l_linenumber, l_comment FROM lineitem \
                 ORDER BY l_comment, l_orderkey, l_linenumber";
    let run = |extra: &[&str]| {
        let mut args = vec!["sql", "--data", "datasets/tpch-sf0.01", "--format", "csv"];
        args.extend_from_slice(extra);
        args.push(query);
        let out = rask(&args);
        assert!(out.status.success(), "{extra:?}: {}", text(&out.stderr));
        text(&out.stdout)
    };
    let unlimited = run(&[]);
    assert_eq!(unlimited.lines().count(), 60176, "header and every row");
    assert!(unlimited.starts_with("l_orderkey,l_linenumber,l_comment\n"));
    for codec in ["lz4", "none"] {
        let limited = run(&["--memory-limit", "2MB", "--spill-compression", codec]);
        assert!(
            limited == unlimited,
            "--spill-compression {codec} changed the output"
        );
    }
    let bad = rask(&["sql", "--spill-compression", "zip", "SELECT 1"]);
    assert!(!bad.status.success());
    assert!(text(&bad.stderr).contains("lz4"), "{}", text(&bad.stderr));
}
