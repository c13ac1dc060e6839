//! Where the job runs: one line per rank (host, node-local rank, cores, CPU
//! binding, threads, the cores its worker pool is pinned to) and the
//! libraries it runs on (MPI, HDF5).
//!
//! [`info_report`] is what `chunkwise info` prints. Gathering the facts of a
//! rank never fails: what cannot be found out reads `unknown (…why…)`, so a
//! rank with a broken hwloc still takes part in the gather and no rank is
//! left waiting.

use std::path::Path;

use hwlocality::cpu::binding::CpuBindingFlags;
use hwlocality::object::types::ObjectType;
use hwlocality::Topology;

use super::pinning;
use crate::comm::{Comm, NodeInfo};
use crate::error::{Error, Result};

/// Separates the fields of one rank's record on the wire.
const FIELD_SEP: char = '\u{1f}';

/// What one rank knows about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RankFacts {
    rank: String,
    host: String,
    node_index: String,
    local_rank: String,
    local_size: String,
    cores: String,
    pus: String,
    binding: String,
    threads: String,
    pool: String,
    mpi_library: String,
    hdf5_library: String,
}

const FIELD_COUNT: usize = 12;

impl RankFacts {
    fn fields(&self) -> [&str; FIELD_COUNT] {
        [
            &self.rank,
            &self.host,
            &self.node_index,
            &self.local_rank,
            &self.local_size,
            &self.cores,
            &self.pus,
            &self.binding,
            &self.threads,
            &self.pool,
            &self.mpi_library,
            &self.hdf5_library,
        ]
    }

    /// One record: the fields, each on one line, joined by [`FIELD_SEP`].
    fn encode(&self) -> Vec<u8> {
        let clean: Vec<String> = self
            .fields()
            .iter()
            .map(|f| {
                f.chars()
                    .map(|c| {
                        if c == FIELD_SEP || c.is_control() {
                            ' '
                        } else {
                            c
                        }
                    })
                    .collect::<String>()
                    .trim()
                    .to_string()
            })
            .collect();
        clean.join(&FIELD_SEP.to_string()).into_bytes()
    }

    fn decode(from_rank: usize, bytes: &[u8]) -> Result<RankFacts> {
        let text = std::str::from_utf8(bytes).map_err(|e| {
            Error::internal(format!(
                "rank {from_rank} sent a topology record that is not UTF-8: {e}"
            ))
        })?;
        let f: Vec<&str> = text.split(FIELD_SEP).collect();
        if f.len() != FIELD_COUNT {
            return Err(Error::internal(format!(
                "rank {from_rank} sent a topology record with {} fields instead of {FIELD_COUNT}",
                f.len()
            )));
        }
        let field = |i: usize| f[i].to_string();
        Ok(RankFacts {
            rank: field(0),
            host: field(1),
            node_index: field(2),
            local_rank: field(3),
            local_size: field(4),
            cores: field(5),
            pus: field(6),
            binding: field(7),
            threads: field(8),
            pool: field(9),
            mpi_library: field(10),
            hdf5_library: field(11),
        })
    }
}

/// A report of the job: ranks, nodes, libraries, and one line per rank.
///
/// Every rank gathers its own facts (hostname, node-local rank, the
/// machine's cores and processing units (PUs) and this rank's current CPU
/// binding from hwloc, the threads it may run, the worker pool it would
/// run — threads and the cores they are pinned to, from
/// [`pinning::plan_for`], checked by starting such a pool — and the MPI and
/// HDF5 library versions) and all ranks exchange them; every rank returns
/// the same text. Print it on one rank only (rank 0).
///
/// Each rank's line ends with `pool=` and the plan's summary (which may
/// contain spaces), for example `pool=1 thread on core 0 (bound by the
/// launcher)`.
///
/// # Collective
/// Call on every rank, in the same order as the other collectives.
///
/// # Errors
/// [`Error::Comm`] if the exchange fails, [`Error::Internal`] if a record
/// arrives malformed. The same on every rank.
///
/// ```
/// use chunkwise::comm::LocalComm;
/// use chunkwise::session::topology::info_report;
/// let report = info_report(&LocalComm::new())?;
/// assert!(report.contains("rank 0/1"));
/// # Ok::<(), chunkwise::Error>(())
/// ```
pub fn info_report<C: Comm + ?Sized>(comm: &C) -> Result<String> {
    let mine = local_facts(comm);
    let all = comm.all_gather_bytes(&mine.encode())?;
    if all.len() != comm.size() {
        return Err(Error::internal(format!(
            "topology gather returned {} records for {} ranks",
            all.len(),
            comm.size()
        )));
    }
    let facts = all
        .iter()
        .enumerate()
        .map(|(r, bytes)| RankFacts::decode(r, bytes))
        .collect::<Result<Vec<_>>>()?;
    Ok(render(comm.node().node_count, &facts))
}

fn render(node_count: usize, facts: &[RankFacts]) -> String {
    let size = facts.len();
    let mut out = format!(
        "chunkwise {}: {size} rank{} on {node_count} node{}\n",
        env!("CARGO_PKG_VERSION"),
        plural(size),
        plural(node_count)
    );
    for (label, values) in [
        (
            "MPI library",
            facts
                .iter()
                .map(|f| f.mpi_library.as_str())
                .collect::<Vec<_>>(),
        ),
        (
            "HDF5 library",
            facts.iter().map(|f| f.hdf5_library.as_str()).collect(),
        ),
    ] {
        let groups = group_ranks(&values);
        if groups.len() == 1 {
            out.push_str(&format!("{label}: {}\n", groups[0].0));
        } else {
            for (value, ranks) in groups {
                out.push_str(&format!("{label} (ranks {}): {value}\n", join(&ranks)));
            }
        }
    }
    for f in facts {
        out.push_str(&format!(
            "rank {}/{size}: host={} node={} local_rank={}/{} cores={} pus={} bound_to={} threads={} pool={}\n",
            f.rank,
            f.host,
            f.node_index,
            f.local_rank,
            f.local_size,
            f.cores,
            f.pus,
            f.binding,
            f.threads,
            f.pool
        ));
    }
    out
}

/// Distinct values in order of first appearance, each with the ranks having it.
fn group_ranks<'a>(values: &[&'a str]) -> Vec<(&'a str, Vec<usize>)> {
    let mut groups: Vec<(&str, Vec<usize>)> = Vec::new();
    for (rank, &v) in values.iter().enumerate() {
        match groups.iter_mut().find(|(g, _)| *g == v) {
            Some((_, ranks)) => ranks.push(rank),
            None => groups.push((v, vec![rank])),
        }
    }
    groups
}

fn join(ranks: &[usize]) -> String {
    ranks
        .iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// This rank's facts. Never fails: unknowns say why.
fn local_facts<C: Comm + ?Sized>(comm: &C) -> RankFacts {
    let node = comm.node();
    let (cores, pus, binding, hwloc_host) = match Topology::new() {
        Ok(topo) => {
            let cores = topo.objects_with_type(ObjectType::Core).count().to_string();
            let pus = topo.objects_with_type(ObjectType::PU).count().to_string();
            let binding = match topo.cpu_binding(CpuBindingFlags::PROCESS) {
                Ok(set) => {
                    // CpuSet prints as `CpuSet(0-3)`; the list is what matters.
                    let text = set.to_string();
                    let list = text
                        .strip_prefix("CpuSet(")
                        .and_then(|t| t.strip_suffix(')'))
                        .unwrap_or(&text);
                    match set.weight() {
                        Some(w) => format!("{list}({w}PU{})", plural(w)),
                        None => list.to_string(),
                    }
                }
                Err(e) => format!("unknown({e})"),
            };
            let host = topo
                .root_object()
                .info("HostName")
                .map(|h| h.to_string_lossy().into_owned());
            (cores, pus, binding, host)
        }
        Err(e) => {
            let why = format!("unknown(hwloc: {e})");
            (why.clone(), why.clone(), why, None)
        }
    };
    let threads = match std::thread::available_parallelism() {
        Ok(n) => n.to_string(),
        Err(e) => format!("unknown({e})"),
    };
    let (major, minor, patch) = hdf5::library_version();
    RankFacts {
        rank: comm.rank().to_string(),
        host: hwloc_host
            .filter(|h| !h.is_empty())
            .unwrap_or_else(hostname_from_kernel),
        node_index: node.node_index.to_string(),
        local_rank: node.local_rank.to_string(),
        local_size: node.local_size.to_string(),
        cores,
        pus,
        binding: binding.replace(' ', ""),
        threads,
        pool: pool_facts(&node),
        mpi_library: comm.library_version(),
        hdf5_library: format!("{major}.{minor}.{patch}"),
    }
}

/// The worker pool this rank would run: its pin plan's summary, checked by
/// starting a pool from the plan and reading back where each worker is
/// bound. A failed check is reported in the text, never as an error.
fn pool_facts(node: &NodeInfo) -> String {
    let plan = pinning::plan_for(node);
    let mut text = plan.summary();
    if plan.is_pinned() {
        match pinning::pinned_pool_builder(&plan, plan.threads()).build() {
            Ok(pool) => {
                if let Err(e) = plan.check_pool(&pool) {
                    text.push_str(&format!("; pinning failed: {e}"));
                }
            }
            Err(e) => text.push_str(&format!("; pinning unknown(cannot start a pool: {e})")),
        }
    }
    text
}

/// This node's host name (from the kernel).
pub fn hostname() -> String {
    hostname_from_kernel()
}

fn hostname_from_kernel() -> String {
    let path = Path::new("/proc/sys/kernel/hostname");
    match std::fs::read_to_string(path) {
        Ok(h) if !h.trim().is_empty() => h.trim().to_string(),
        _ => std::env::var("HOSTNAME").unwrap_or_else(|_| "unknown".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::comm::LocalComm;

    fn sample(rank: usize, mpi: &str) -> RankFacts {
        RankFacts {
            rank: rank.to_string(),
            host: "node-a".into(),
            node_index: "0".into(),
            local_rank: rank.to_string(),
            local_size: "2".into(),
            cores: "8".into(),
            pus: "16".into(),
            binding: "0-3(4PUs)".into(),
            threads: "4".into(),
            pool: format!("2 threads on cores {}-{}", 2 * rank, 2 * rank + 1),
            mpi_library: mpi.into(),
            hdf5_library: "1.10.8".into(),
        }
    }

    #[test]
    fn a_record_survives_encoding() {
        let f = sample(3, "Open MPI v4.1.4");
        assert_eq!(RankFacts::decode(3, &f.encode()).unwrap(), f);
    }

    #[test]
    fn separators_and_newlines_in_values_do_not_break_records() {
        let mut f = sample(0, "line one\nline two");
        f.host = format!("evil{FIELD_SEP}host");
        let back = RankFacts::decode(0, &f.encode()).unwrap();
        assert_eq!(back.mpi_library, "line one line two");
        assert_eq!(back.host, "evil host");
    }

    #[test]
    fn a_short_record_is_an_internal_error() {
        let err = RankFacts::decode(2, b"0\x1fhost").unwrap_err();
        assert!(
            matches!(err, Error::Internal(ref m) if m.contains("rank 2")),
            "{err}"
        );
    }

    #[test]
    fn libraries_print_once_when_all_ranks_agree() {
        let text = render(1, &[sample(0, "MPI X"), sample(1, "MPI X")]);
        assert!(text.contains("2 ranks on 1 node\n"), "{text}");
        assert!(text.contains("\nMPI library: MPI X\n"), "{text}");
        assert!(text.contains("\nrank 0/2: host=node-a"), "{text}");
        assert!(text.contains("\nrank 1/2: host=node-a"), "{text}");
    }

    #[test]
    fn libraries_print_per_group_when_ranks_differ() {
        let text = render(
            2,
            &[sample(0, "MPI X"), sample(1, "MPI Y"), sample(2, "MPI X")],
        );
        assert!(text.contains("MPI library (ranks 0,2): MPI X\n"), "{text}");
        assert!(text.contains("MPI library (ranks 1): MPI Y\n"), "{text}");
    }

    #[test]
    fn the_pool_ends_each_rank_line_spaces_and_all() {
        let mut f = sample(1, "MPI X");
        f.pool = "1 thread on core 0 (bound by the launcher)".into();
        let text = render(1, &[sample(0, "MPI X"), f]);
        assert!(
            text.contains(" threads=4 pool=2 threads on cores 0-1\n"),
            "{text}"
        );
        assert!(
            text.contains(" pool=1 thread on core 0 (bound by the launcher)\n"),
            "{text}"
        );
    }

    #[test]
    fn report_over_local_comm_names_the_only_rank() {
        let text = info_report(&LocalComm::new()).unwrap();
        assert!(text.contains(": 1 rank on 1 node\n"), "{text}");
        assert!(text.contains("\nrank 0/1: host="), "{text}");
        assert!(text.contains("HDF5 library: 1."), "{text}");
        assert_eq!(text.lines().filter(|l| l.starts_with("rank ")).count(), 1);
    }

    /// The pool field is the plan's summary, checked: one rank alone on a
    /// node gets every core it may use (or its launcher binding), and no
    /// worker failed to pin.
    #[test]
    fn report_over_local_comm_shows_a_checked_pool() {
        let text = info_report(&LocalComm::new()).unwrap();
        let line = text
            .lines()
            .find(|l| l.starts_with("rank 0/1: "))
            .expect("rank line");
        let pool = line.split_once(" pool=").expect("pool field").1;
        let plan = pinning::plan_for(&LocalComm::new().node());
        assert_eq!(pool, plan.summary(), "{line}");
        assert!(!pool.contains("pinning failed"), "{line}");
        if plan.is_pinned() {
            assert!(!plan.core_indices().is_empty());
            assert!(!pool.contains("shared"), "one rank shares nothing: {line}");
        }
    }
}
